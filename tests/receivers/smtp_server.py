"""A real SMTP server for the tests (aiosmtpd), with an HTTP side to inspect and
control it. It keeps each message once per Message-ID (as a deduplicating relay
would) and counts the repeats.

    smtp_server.py [--count-only]

--count-only (for benchmarks): messages are not parsed, only their Message-ID read and
counted, so the receiver's Python is not what a benchmark measures; /received then
lists {"message_id"} alone.

Prints "SMTP_PORT HTTP_PORT" (127.0.0.1, chosen by the OS) as its first line.

    GET  /received   {"messages": [{"message_id", "to", "subject", "text", "html",
                                    "from", "cc", "reply_to", "auto_submitted",
                                    "attachments": [{"filename", "content_type",
                                                     "size", "head"}]}],
                      "duplicates": n, "sessions": n}   (to: the envelope's
                      recipients; head: an attachment's first bytes as Latin-1;
                      sessions: EHLOs answered, one per connection)

Recipients at the domain rejected.test are refused for good (550), as a mail server
refuses an unknown user.
    POST /control    {"down": true}   stops listening (connections are refused)
                     {"down": false}  listens again on the same port
"""

import email
import email.policy
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

state = {"messages": [], "seen": set(), "duplicates": 0, "sessions": 0}
lock = threading.Lock()


COUNT_ONLY = "--count-only" in sys.argv[1:]


def message_id_of(content):
    """The Message-ID header of raw message bytes, without parsing the message."""
    head = content.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("ascii", "replace")
    return None


def attachment(part):
    payload = part.get_payload(decode=True) or b""
    return {
        "filename": part.get_filename(),
        "content_type": part.get_content_type(),
        "size": len(payload),
        "head": payload[:8].decode("latin-1"),
    }


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with lock:
            state["sessions"] += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@rejected.test"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if COUNT_ONLY:
            message_id = message_id_of(envelope.content)
            with lock:
                if message_id in state["seen"]:
                    state["duplicates"] += 1
                else:
                    state["seen"].add(message_id)
                    state["messages"].append({"message_id": message_id})
            return "250 OK"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message_id = message["Message-ID"]
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        with lock:
            if message_id in state["seen"]:
                state["duplicates"] += 1
            else:
                state["seen"].add(message_id)
                state["messages"].append({
                    "message_id": message_id,
                    "to": envelope.rcpt_tos,
                    "subject": str(message["Subject"]),
                    "text": text.get_content() if text else "",
                    "html": html.get_content() if html else "",
                    "from": str(message["From"] or ""),
                    "cc": str(message["Cc"] or ""),
                    "reply_to": str(message["Reply-To"] or ""),
                    "auto_submitted": str(message["Auto-Submitted"] or ""),
                    "attachments": [attachment(part) for part in message.iter_attachments()],
                })
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


smtp_port = free_port()
# A stopped controller's event loop is closed: coming back up takes a new one.
running = {"up": True, "controller": Controller(Handler(), hostname="127.0.0.1", port=smtp_port)}
running["controller"].start()


class Http(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, {"messages": state["messages"], "duplicates": state["duplicates"], "sessions": state["sessions"]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        down = bool(body.get("down"))
        with lock:
            if down and running["up"]:
                running["controller"].stop()
                running["up"] = False
            elif not down and not running["up"]:
                running["controller"] = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
                running["controller"].start()
                running["up"] = True
        self.reply(200, {"down": not running["up"]})


http = ThreadingHTTPServer(("127.0.0.1", 0), Http)
print(f"{smtp_port} {http.server_address[1]}", flush=True)
http.serve_forever()
