#!/bin/sh
# before-dump of examples/redis: generate the dataset, then record its digest
# and key count next to the dump (LAZYBOOT_CAPTURE_DIR: redis.digest,
# redis.dbsize) for the post-restore checks.
set -eu
port=${1:-6390}
keys=${REDIS_KEYS:-200000}
cli="/usr/bin/redis-cli -h 127.0.0.1 -p $port"
# DEBUG POPULATE is deterministic: key:N -> "value:N" padded to 64 bytes.
$cli DEBUG POPULATE "$keys" key 64 >/dev/null
# Some structures too, so the image is not only one hash table.
$cli RPUSH list:1 a b c d e f g h >/dev/null
$cli HSET hash:1 f1 v1 f2 v2 f3 v3 >/dev/null
$cli ZADD zset:1 1 one 2 two 3 three >/dev/null
[ "$($cli DBSIZE)" -ge "$keys" ]
if [ -n "${LAZYBOOT_CAPTURE_DIR:-}" ]; then
	$cli DEBUG DIGEST > "$LAZYBOOT_CAPTURE_DIR/redis.digest"
	$cli DBSIZE > "$LAZYBOOT_CAPTURE_DIR/redis.dbsize"
fi
