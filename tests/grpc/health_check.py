"""Calls grpc.health.v1.Health on a server with gRPC's own Python implementation (grpcio,
grpcio-health-checking), for tests/grpc.rs: a client this crate didn't write, so that the
gRPC refusals are checked against another implementation's reading of the wire format.

Usage: health_check.py HOST:PORT TOKEN. Prints one JSON object: for each call, the gRPC
status code it ended with, its details, and on success the serving status and the
response's initial metadata.
"""

import json
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check(stub, metadata):
    try:
        response, call = stub.Check.with_call(
            health_pb2.HealthCheckRequest(), metadata=metadata, timeout=10
        )
    except grpc.RpcError as error:
        return {"code": error.code().value[0], "details": error.details()}
    return {
        "code": 0,
        "serving": health_pb2.HealthCheckResponse.ServingStatus.Name(response.status),
        "metadata": {key: value for key, value in call.initial_metadata()},
    }


def watch(stub, metadata):
    try:
        for response in stub.Watch(
            health_pb2.HealthCheckRequest(), metadata=metadata, timeout=10
        ):
            return {"code": 0, "serving": response.status}
    except grpc.RpcError as error:
        return {"code": error.code().value[0], "details": error.details()}
    return {"code": None}


def main():
    target, token = sys.argv[1], sys.argv[2]
    bearer = ("authorization", "Bearer " + token)
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        results = {
            "no_token": check(stub, []),
            "forged": check(stub, [("authorization", "Bearer " + "A" * 43)]),
            "valid": check(stub, [bearer]),
            "two_tokens": check(stub, [bearer, bearer]),
            "guarded": watch(stub, [bearer]),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
