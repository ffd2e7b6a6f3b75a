"""quantd as a process: reflection, the Prometheus page under promtool, and
a graceful drain on SIGTERM while requests are in flight."""

import concurrent.futures
import shutil
import subprocess
import time
import unittest
import urllib.request

import grpc
import numpy as np

from health.v1 import health_pb2, health_pb2_grpc
from quantd.v1 import quantd_pb2 as pb
from quantd_process import QuantdProcess
from reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


def quantize_request(n, seed):
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    request = pb.QuantizeRequest(input=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[n], data=x.tobytes()),
                                 options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8))
    return x, request


def expected_int8(x, scale):
    return np.clip(np.rint(x * (np.float32(1) / np.float32(scale))), -127, 127).astype(np.int8)


class ProcessTest(unittest.TestCase):
    def test_reflection_lists_the_services(self):
        with QuantdProcess() as server:
            stub = reflection_pb2_grpc.ServerReflectionStub(server.channel())
            responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            names = {s.name for r in responses for s in r.list_services_response.service}
            self.assertIn("quantd.v1.Quantizer", names)
            self.assertIn("grpc.health.v1.Health", names)
            self.assertEqual(server.terminate(), 0)

    def test_reflection_can_be_turned_off(self):
        with QuantdProcess("--reflection=false") as server:
            stub = reflection_pb2_grpc.ServerReflectionStub(server.channel())
            with self.assertRaises(grpc.RpcError) as raised:
                list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
            self.assertEqual(raised.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
            self.assertEqual(server.terminate(), 0)

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian's prometheus package) is not installed")
    def test_metrics_page_passes_promtool(self):
        with QuantdProcess() as server:
            stub = server.stub()
            x, request = quantize_request(1000, 1)
            stub.Quantize(request)
            # A matmul with every optional metric: outliers and the reference error.
            a = np.random.default_rng(2).standard_normal((4, 25)).astype(np.float32)
            a[:, 3] = 9.0
            matmul = pb.MatMulRequest(a=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[4, 25], data=a.tobytes()),
                                      b=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[4, 25], data=a.tobytes()),
                                      transpose_b=True, outlier_threshold=6.0, compute_reference_error=True)
            stub.QuantizedMatMul(matmul)
            with self.assertRaises(grpc.RpcError):
                request.input.shape[0] = 999
                stub.Quantize(request)
            page = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.metrics_port, timeout=10).read()
            result = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            text = page.decode()
            self.assertIn('quantd_elements_total{dtype="INT8",op="quantize"} 1000', text)
            self.assertIn('grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="Quantize"', text)
            self.assertIn('quantd_matmul_ops_total{dtype="INT8"} 800', text)
            self.assertIn('quantd_matmul_outlier_columns_sum{dtype="INT8"} 1', text)
            self.assertEqual(server.terminate(), 0)

    def test_isa_flag_caps_the_kernels(self):
        with QuantdProcess("--isa=scalar") as server:
            x, request = quantize_request(1000, 3)
            response = server.stub().Quantize(request)
            np.testing.assert_array_equal(np.frombuffer(response.output.data, np.int8),
                                          expected_int8(x, response.params.scales[0]))
            page = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.metrics_port, timeout=10).read()
            self.assertIn(b'quantd_build_info{isa="scalar"', page)
            self.assertEqual(server.terminate(), 0)
        bad = subprocess.run([QuantdProcess().binary, "--isa=avx9"], capture_output=True, timeout=30)
        self.assertEqual(bad.returncode, 2)
        self.assertIn(b"unknown ISA level 'avx9'", bad.stderr)

    def test_sigterm_drains_in_flight_requests_and_exits_zero(self):
        with QuantdProcess("--threads=1") as server:
            channel = server.channel()
            stub = server.stub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            ready = health.Check(health_pb2.HealthCheckRequest(service="quantd.v1.Quantizer"))
            self.assertEqual(ready.status, health_pb2.HealthCheckResponse.SERVING)

            requests = [quantize_request(1 << 20, seed) for seed in range(12)]

            def call(item):
                x, request = item
                try:
                    response = stub.Quantize(request, timeout=60)
                except grpc.RpcError as e:
                    return x, None, e.code()
                return x, response, grpc.StatusCode.OK

            with concurrent.futures.ThreadPoolExecutor(max_workers=12) as executor:
                futures = [executor.submit(call, item) for item in requests]
                time.sleep(0.3)  # Let the calls reach the server.
                terminated_at = time.monotonic()
                code = server.terminate(timeout=30)
                results = [f.result() for f in futures]
            self.assertEqual(code, 0)
            self.assertLess(time.monotonic() - terminated_at, 25)
            completed = 0
            for x, response, status in results:
                if status == grpc.StatusCode.OK:
                    completed += 1
                    got = np.frombuffer(response.output.data, np.int8)
                    np.testing.assert_array_equal(got, expected_int8(x, response.params.scales[0]))
                else:
                    # Calls the server never accepted are refused, not lost midway.
                    self.assertEqual(status, grpc.StatusCode.UNAVAILABLE)
            self.assertGreater(completed, 0)


if __name__ == "__main__":
    unittest.main()
