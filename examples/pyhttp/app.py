#!/usr/bin/python3
"""An HTTP service whose cold start is dominated by imports.

It imports a large part of Python's standard library, as a real application
pulls in its framework and dependencies, then answers on 127.0.0.1:PORT:
  GET /health  -> 200 "ok"
  GET /        -> 200, JSON: modules loaded, import time, pid
"""
import importlib
import sys
import time

T0 = time.monotonic()
MODULES = """
argparse ast asyncio base64 bisect calendar cgi collections concurrent.futures
configparser contextlib copy csv ctypes dataclasses datetime decimal difflib
dis email email.mime.multipart email.mime.text email.parser enum fractions
ftplib functools getopt gettext glob gzip hashlib heapq hmac html.parser
http.client http.cookies http.server imaplib inspect ipaddress itertools
json logging logging.handlers lzma mailbox mimetypes multiprocessing netrc
numbers operator optparse pathlib pickle pickletools platform plistlib
poplib pprint profile pstats pydoc queue random re shlex shutil smtplib
socketserver sqlite3 ssl statistics string struct subprocess tarfile
tempfile textwrap threading timeit tokenize trace traceback typing
unittest unittest.mock urllib.parse urllib.request uuid wave weakref
xml.dom.minidom xml.etree.ElementTree xml.sax xmlrpc.client xmlrpc.server
zipfile zipimport zoneinfo
""".split()
LOADED = []
for name in MODULES:
    try:
        importlib.import_module(name)
        LOADED.append(name)
    except ImportError:
        pass
IMPORT_S = time.monotonic() - T0

import http.server  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok\n"
        elif self.path == "/":
            body = json.dumps({"modules": len(sys.modules),
                               "imported": len(LOADED),
                               "import_seconds": round(IMPORT_S, 3),
                               "pid": os.getpid()}).encode() + b"\n"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8090
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
