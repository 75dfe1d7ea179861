"""A grpc.health.v1 check of a Proxima tier, for container health checks.

Exit status 0 when the tier reports SERVING, 1 otherwise (NOT_SERVING while
it loads its model or drains, or unreachable), with one line on stderr.
Kubernetes asks the same service with its native ``grpc:`` probes
(deploy/base/deployment.yaml); this script is the image's HEALTHCHECK for
Docker and Compose, which have no gRPC probe. Plaintext only: a tier served
with TLS needs an exec probe that speaks TLS.

    python health_check.py [HOST:PORT] [--service NAME] [--timeout S]
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("address", nargs="?", default="127.0.0.1:50051", help="the tier, HOST:PORT")
    p.add_argument("--service", default="proxima.v1.Assistant", help="health service name ('' for the server)")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the answer")
    args = p.parse_args(argv)
    with grpc.insecure_channel(args.address) as channel:
        try:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout).status
        except grpc.RpcError as err:
            print(f"health check of {args.address}: {err.code().name} ({err.details()})", file=sys.stderr)
            return 1
    if status != health_pb2.HealthCheckResponse.SERVING:
        print(f"health check of {args.address}: {health_pb2.HealthCheckResponse.ServingStatus.Name(status)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
