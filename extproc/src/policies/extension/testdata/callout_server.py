# An ExternalCallout server on Python's grpcio, for external-callout.int.test.ts: it implements
# apigee.ExternalCalloutService from stubs the test generated with grpc_tools.protoc, so Gatehouse is
# checked against a peer it did not write. What it does is chosen by the flow variable callout.mode:
#   (unset)  changes headers and content, sets flow variables
#   fault    raises the fault MarkerFound
#   hang     says HANG on stdout, then sleeps past any deadline
#   huge     returns a 2 MiB content
#   error    fails the call with PERMISSION_DENIED
# Usage: callout_server.py STUBS_DIR [--port N] [--tls CERT KEY [--client-ca CA]]. Prints "PORT <n>" once
# serving (N, or one the system picked).
import sys
import time
from concurrent import futures

import grpc

sys.path.insert(0, sys.argv[1])
from apigee import external_callout_pb2 as pb  # noqa: E402
from apigee import external_callout_pb2_grpc as pbg  # noqa: E402


def mode_of(ctx):
    var = ctx.additional_flow_variables.get("callout.mode")
    return var.string if var is not None else ""


class Callout(pbg.ExternalCalloutServiceServicer):
    def ProcessMessage(self, ctx, context):
        mode = mode_of(ctx)
        if mode == "hang":
            print("HANG", flush=True)
            time.sleep(120)
        if mode == "error":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not allowed by the python callout")
        out = pb.MessageContext()
        out.CopyFrom(ctx)
        out.additional_flow_variables.clear()
        if mode == "fault":
            out.fault.name = "MarkerFound"
            out.fault.fault_string = "the python callout found the marker"
            out.additional_flow_variables["callout.faulted"].bool = True
            return out
        if mode == "huge":
            out.request.content = "x" * (2 * 1024 * 1024)
            return out
        if ctx.HasField("request"):
            out.request.headers["x-python"].strings[:] = ["grpcio " + grpc.__version__]
            out.request.headers["x-remove"].CopyFrom(pb.Strings())
            out.request.query_params["added"].strings[:] = ["1"]
            out.request.content = ctx.request.content.upper()
            # A read-only field changed: the gateway ignores it.
            out.request.verb = "DELETE"
            out.additional_flow_variables["callout.verb"].string = ctx.request.verb
            out.additional_flow_variables["callout.headers"].int64 = len(ctx.request.headers)
        if ctx.HasField("response"):
            out.response.headers["x-python-response"].strings[:] = [str(ctx.response.status_code)]
            out.response.content = "python saw: " + ctx.response.content
        out.additional_flow_variables["callout.ok"].bool = True
        out.additional_flow_variables["callout.ratio"].double = 0.5
        out.additional_flow_variables["callout.obsolete"].CopyFrom(pb.FlowVariable())
        cn = context.auth_context().get("x509_common_name")
        if cn:
            out.additional_flow_variables["callout.client_cn"].string = cn[0].decode()
        return out


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pbg.add_ExternalCalloutServiceServicer_to_server(Callout(), server)
    args = sys.argv[2:]
    address = "127.0.0.1:0"
    if args[:1] == ["--port"]:
        address = "127.0.0.1:" + args[1]
        args = args[2:]
    if args[:1] == ["--tls"]:
        cert, key = open(args[1], "rb").read(), open(args[2], "rb").read()
        ca = open(args[4], "rb").read() if args[3:4] == ["--client-ca"] else None
        creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)
        port = server.add_secure_port(address, creds)
    else:
        port = server.add_insecure_port(address)
    server.start()
    print("PORT %d" % port, flush=True)
    server.wait_for_termination()


main()
