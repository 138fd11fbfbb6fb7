"""A real tus client (tuspy) uploads to a running standalone sidecar, is interrupted,
resumes from the server's offset, and the blob comes back byte-exact. The client names the
SHA-1 of every PATCH in `Upload-Checksum` (the tus checksum extension), which the server
checks.

Usage: python3 tus_resume.py BIN   (BIN: the elohim-media binary)
"""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from tusclient import client


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(binary):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [binary, "serve", "--standalone", "--listen", f"127.0.0.1:{port}", "--data-dir", data],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/health")
                    break
                except OSError:
                    time.sleep(0.1)
            payload = os.urandom(5 * 1024 * 1024 + 123)
            path = os.path.join(data, "upload.bin")
            with open(path, "wb") as f:
                f.write(payload)

            tus = client.TusClient(f"{base}/api/uploads")
            first = tus.uploader(path, chunk_size=512 * 1024, upload_checksum=True,
                                 metadata={"filetype": "video/mp4", "filename": "talk.mp4"})
            first.upload(stop_at=2 * 1024 * 1024)  # the client goes away part-way
            url = first.url
            head = urllib.request.Request(url, method="HEAD", headers={"Tus-Resumable": "1.0.0"})
            offset = int(urllib.request.urlopen(head).headers["Upload-Offset"])
            assert offset >= 2 * 1024 * 1024, offset

            second = tus.uploader(path, url=url, chunk_size=512 * 1024, upload_checksum=True)
            assert second.get_offset() == offset, (second.get_offset(), offset)
            second.upload()

            digest = hashlib.sha256(payload).hexdigest()
            receipt = urllib.request.urlopen(url).read().decode()
            assert f'"hash":"{digest}"' in receipt, receipt
            assert '"mime":"video/mp4"' in receipt, receipt
            body = urllib.request.urlopen(f"{base}/api/blob/{digest}").read()
            assert body == payload, "blob differs"
            print(f"tus client: resumed at {offset} of {len(payload)} bytes; blob {digest[:12]}… byte-exact")
            print("1 passed, 0 failed")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main(sys.argv[1])
