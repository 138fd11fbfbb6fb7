"""An independent WebRTC stack against the SFU: aiortc (Python, libvpx and libopus through
PyAV) publishes a generated 320x240 picture by WHIP, and another aiortc peer watches it by
WHEP and decodes the frames it sent.

    python3 tests/clients/rtc_interop.py path/to/elohim-media

Both peers gather loopback candidates only. Exits non-zero on the first failure.
"""

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time

import aioice.ice
import numpy
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from av import VideoFrame

# Loopback only: aioice leaves 127.0.0.1 out of its host candidates.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

import urllib.request


def check(ok, what):
    if not ok:
        raise SystemExit(f"FAIL - {what}")
    print("ok -", what)


class Bars(VideoStreamTrack):
    """A 320x240 picture whose left half is white, at 30 fps."""

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        img = numpy.zeros((240, 320, 3), numpy.uint8)
        img[:, :160] = 255
        frame = VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def post(url, sdp):
    req = urllib.request.Request(url, data=sdp.encode(), method="POST", headers={"content-type": "application/sdp"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers["location"], resp.read().decode()


def delete(url):
    req = urllib.request.Request(url, method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


async def join(pc, url):
    await pc.setLocalDescription(await pc.createOffer())
    status, location, answer = await asyncio.to_thread(post, url, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return status, location


async def main(bin_path):
    work = tempfile.mkdtemp(prefix="elohim-rtc-interop-")
    proc = subprocess.Popen(
        [bin_path, "serve", "--standalone", "--listen", "127.0.0.1:0", "--data-dir", f"{work}/data"],
        stdout=subprocess.PIPE, text=True)
    publisher, viewer = RTCPeerConnection(), RTCPeerConnection()
    try:
        base = None
        deadline = time.monotonic() + 30
        while base is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            m = re.search(r"listening on (http://\S+)", line)
            base = m.group(1) if m else None
        check(base is not None, f"the sidecar listens ({base})")
        call = f"{base}/api/rtc/interop"

        publisher.addTransceiver(Bars(), direction="sendonly")
        status, pub_location = await join(publisher, f"{call}/whip")
        check(status == 201, f"aiortc publishes by WHIP ({status})")

        got = asyncio.get_running_loop().create_future()

        @viewer.on("track")
        def on_track(track):
            if track.kind == "video" and not got.done():
                got.set_result(track)

        viewer.addTransceiver("video", direction="recvonly")
        status, view_location = await join(viewer, f"{call}/whep")
        check(status == 201, f"aiortc watches by WHEP ({status})")

        track = await asyncio.wait_for(got, 20)
        frames = []
        while len(frames) < 30:
            frames.append(await asyncio.wait_for(track.recv(), 20))
        last = frames[-1].to_ndarray(format="bgr24")
        check(last.shape[:2] == (240, 320), f"the viewer decodes 320x240 frames ({last.shape})")
        left, right = last[:, :150].mean(), last[:, 170:].mean()
        check(left > 200 and right < 50, f"they show the publisher's picture (left {left:.0f}, right {right:.0f})")

        check(await asyncio.to_thread(delete, base + view_location) == 200, "the viewer leaves with DELETE")
        check(await asyncio.to_thread(delete, base + pub_location) == 200, "the publisher leaves with DELETE")
        print("the aiortc interop passed")
    finally:
        await publisher.close()
        await viewer.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
