"""Random message sequences against a live tier: it answers each with a result
or a clear status, and keeps serving."""

from __future__ import annotations

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import to_bytes

EXPECTED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}


def _config(rate, channels, encoding, uid):
    cfg = stream_config(uid, "alexa", "en", "fuzz", "", "")
    cfg.format.sample_rate_hz, cfg.format.channels, cfg.format.encoding = rate, channels, encoding
    return pb.ConverseRequest(config=cfg)


messages = st.one_of(
    st.builds(_config, st.sampled_from([16000, 8000, 0, 48000]), st.sampled_from([1, 0, 2]),
              st.sampled_from([0, 1, 7]), st.sampled_from(["u", ""])),
    st.builds(lambda b: pb.ConverseRequest(audio=pb.AudioChunk(data=b)), st.binary(max_size=3000)),
    st.just(pb.ConverseRequest(end_of_audio=pb.EndOfAudio())),
    st.just(pb.ConverseRequest(cancel=pb.Cancel(reason="fuzz"))),
    st.just(pb.ConverseRequest()),  # no field set at all
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(messages, max_size=6))
def test_random_sequences_get_a_result_or_a_clear_status(tiers, sequence):
    with grpc.insecure_channel(tiers["regional"]) as ch:
        try:
            responses = list(pb_grpc.AssistantStub(ch).Converse(iter(sequence), timeout=20))
        except grpc.RpcError as err:
            assert err.code() in EXPECTED, (err.code(), err.details())
            assert err.details()
        else:
            assert all(r.utterance_id for r in responses)


def test_tier_still_serves_after_the_fuzzing(tiers, tier_processes):
    import re
    import time
    import urllib.request

    url = re.search(r"metrics on (http://\S+)\)", "\n".join(tier_processes["regional"].output)).group(1)
    for _ in range(50):  # streams end asynchronously after their status is sent
        active = re.search(r'proxima_active_streams\{tier="regional"\} (\S+)', urllib.request.urlopen(url).read().decode())
        if float(active.group(1)) == 0:
            break
        time.sleep(0.1)
    assert float(active.group(1)) == 0, "no stream leaked"
    with grpc.insecure_channel(tiers["regional"]) as ch:
        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service="")).status
        assert status == health_pb2.HealthCheckResponse.SERVING
        good = [_config(16000, 1, 1, "u-ok"), pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(np.zeros(8000, np.int16)))),
                pb.ConverseRequest(end_of_audio=pb.EndOfAudio())]
        final = list(pb_grpc.AssistantStub(ch).Converse(iter(good), timeout=20))[-1]
        assert final.utterance_id == "u-ok" and final.transcript.is_final
