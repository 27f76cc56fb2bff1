"""A tiny local SMTP server for tests: refuses the first N connections, then accepts.

Refusing means answering the greeting with 421 (service not available), which
smtplib reports as SMTPConnectError, the way a busy or greylisting server does.
Accepted messages are kept whole (`messages`: list of (mail_from, rcpt_tos, data)).
"""

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        server: FakeSMTP = self.server.fake  # type: ignore[attr-defined]
        with server.lock:
            server.connections += 1
            refuse = server.refusals_left > 0
            if refuse:
                server.refusals_left -= 1
        if refuse:
            self._send("421 fake.smtp Service not available, try again later")
            return
        self._send("220 fake.smtp ESMTP ready")
        mail_from, rcpt_tos = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._send("250-fake.smtp")
                self._send("250 8BITMIME")
            elif verb == "HELO":
                self._send("250 fake.smtp")
            elif verb == "MAIL":
                mail_from, rcpt_tos = line[10:].strip(), []
                self._send("250 OK")
            elif verb == "RCPT":
                rcpt_tos.append(line[8:].strip())
                self._send("250 OK")
            elif verb == "DATA":
                self._send("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    data_line = self.rfile.readline()
                    if not data_line or data_line in (b".\r\n", b".\n"):
                        break
                    chunks.append(data_line)
                with server.lock:
                    server.messages.append((mail_from, rcpt_tos, b"".join(chunks).decode(errors="replace")))
                self._send("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._send("250 OK")
            elif verb == "QUIT":
                self._send("221 Bye")
                return
            else:
                self._send("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeSMTP:
    def __init__(self, *, refuse_first: int = 0):
        self.refusals_left = refuse_first
        self.connections = 0
        self.messages: list[tuple[str, list[str], str]] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "FakeSMTP":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
