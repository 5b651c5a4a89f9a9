#!/bin/bash
exp=$1
echo "post SERVICE_RESULT=$SERVICE_RESULT EXIT_CODE=$EXIT_CODE EXIT_STATUS=$EXIT_STATUS jobs=[$(systemctl list-jobs --no-legend --plain --full | grep toy | awk '{print $3}')]" >> "$exp/log"
