"""A webhook receiver for the tests: verifies every request with the `standardwebhooks`
package (an implementation independent of Pactum's), drops duplicates by `webhook-id`,
and can be told to fail.

    webhook_receiver.py SECRET [--fail-first N] [--fail-always] [--any-timestamp]

--any-timestamp: the sender's clock is a test's moved clock, so the library's
five-minute tolerance on `webhook-timestamp` is lifted; the signature over it is still
checked by the library.

Prints the port it listens on (127.0.0.1, chosen by the OS) as its first line.

    POST /<anything>    a delivery: 401 if the signature does not verify, 500 while
                        told to fail, else 204 (recorded once per webhook-id)
    GET /received       {"accepted": [...], "duplicates": n, "rejected": n, "failed": n}
    POST /control       {"fail_first": n} or {"fail_always": bool}
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

args = sys.argv[1:]
secret = args[0]
state = {
    "fail_first": int(args[args.index("--fail-first") + 1]) if "--fail-first" in args else 0,
    "fail_always": "--fail-always" in args,
    "accepted": [],
    "seen": set(),
    "duplicates": 0,
    "rejected": 0,
    "failed": 0,
}
lock = threading.Lock()
verifier = Webhook(secret)
if "--any-timestamp" in args:
    from datetime import datetime, timezone

    verifier._Webhook__verify_timestamp = lambda text: datetime.fromtimestamp(int(text), tz=timezone.utc)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def reply(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, {
                "accepted": state["accepted"],
                "duplicates": state["duplicates"],
                "rejected": state["rejected"],
                "failed": state["failed"],
            })

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/control":
            with lock:
                state.update(json.loads(body))
            return self.reply(204)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = verifier.verify(body, headers)
        except Exception as error:  # any verification failure
            with lock:
                state["rejected"] += 1
            return self.reply(401, {"error": str(error)})
        with lock:
            if state["fail_always"] or state["fail_first"] > 0:
                state["fail_first"] = max(0, state["fail_first"] - 1)
                state["failed"] += 1
                return self.reply(500, {"error": "told to fail"})
            message_id = headers["webhook-id"]
            if message_id in state["seen"]:
                state["duplicates"] += 1
            else:
                state["seen"].add(message_id)
                state["accepted"].append({"id": message_id, "payload": payload})
        self.reply(204)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
