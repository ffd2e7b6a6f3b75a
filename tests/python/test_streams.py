"""QuantizeStream moves a tensor of more than 2 GiB through a real quantd
while the server's memory stays bounded, and its answer is correct."""

import threading
import unittest

import numpy as np

from quantd.v1 import quantd_pb2 as pb
from quantd_process import QuantdProcess

CHUNK_ELEMENTS = 1 << 20  # 4 MiB of float32 a message.
CHUNKS = 520              # 520 MiB elements: 2.03 GiB.


class StreamTest(unittest.TestCase):
    def test_two_gib_stream_with_bounded_server_memory(self):
        rng = np.random.default_rng(3)
        chunk = rng.standard_normal(CHUNK_ELEMENTS).astype(np.float32)
        scale = float(np.abs(chunk).max()) / 127
        params = pb.QuantParams(dtype=pb.DTYPE_INT8, scales=[scale])
        expected = np.clip(np.rint(chunk * np.float32(1 / np.float32(scale))), -127, 127).astype(np.int8)
        header = pb.QuantizeStreamHeader(dtype=pb.DTYPE_FLOAT32, shape=[CHUNKS, CHUNK_ELEMENTS],
                                         options=pb.QuantizeOptions(params=params))
        raw = chunk.tobytes()
        with QuantdProcess() as server:
            before = server.rss_bytes()
            peak = [before]
            done = threading.Event()

            def sample():
                while not done.wait(0.05):
                    peak[0] = max(peak[0], server.rss_bytes())

            sampler = threading.Thread(target=sample)
            sampler.start()

            def requests():
                yield pb.QuantizeStreamRequest(header=header)
                for _ in range(CHUNKS):
                    yield pb.QuantizeStreamRequest(data=raw)

            received, error = bytearray(), None
            mismatches = 0
            for response in server.stub().QuantizeStream(requests()):
                kind = response.WhichOneof("msg")
                if kind == "data":
                    received += response.data
                    # Every whole input chunk's codes are known in advance.
                    while len(received) >= CHUNK_ELEMENTS:
                        mismatches += not np.array_equal(
                            np.frombuffer(bytes(received[:CHUNK_ELEMENTS]), np.int8), expected)
                        del received[:CHUNK_ELEMENTS]
                elif kind == "error":
                    error = response.error
            done.set()
            sampler.join()
            print(f"\nserver RSS before {before >> 20} MiB, peak {peak[0] >> 20} MiB "
                  f"while streaming {CHUNKS * CHUNK_ELEMENTS * 4 >> 20} MiB")
            self.assertEqual(mismatches, 0)
            self.assertEqual(len(received), 0)
            self.assertEqual(error.count, CHUNKS * CHUNK_ELEMENTS)
            # A window and a message or two, never the tensor (2 GiB).
            self.assertLess(peak[0] - before, 256 << 20)
            self.assertEqual(server.terminate(), 0)


if __name__ == "__main__":
    unittest.main()
