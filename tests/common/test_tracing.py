"""Tracing without models: the exporters (JSON-lines file, OTLP to a real
loopback collector, console, none, the OTEL_* variables) and ``proxima trace``
on files the real exporter wrote."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from opentelemetry import trace

from otlp_collector import Collector
from proxima.cli import main
from proxima.trace_report import read_spans, render
from common.tracing import HOP_ATTRIBUTE, StreamClock, extract_context, inject_metadata, make_provider

MS = 1_000_000  # ns
T0 = 1_750_000_000_000 * MS  # a fixed wall-clock moment, ns since the epoch

OTEL_VARIABLES = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                  "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME",
                  "OTEL_EXPORTER_OTLP_INSECURE")


@pytest.fixture(autouse=True)
def clean_otel_environment(monkeypatch):
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def utterance(device_tracer, tier_tracer, whole_ms: float, tier_skew_ms: float = 0.0, start_ns: int = T0):
    """One utterance's spans, at fixed times: the device's and a tier's, joined
    through the traceparent as over gRPC. The tier's clock is ``tier_skew_ms`` off."""
    at = lambda ms: start_ns + int(ms * MS)  # noqa: E731
    root = device_tracer.start_span("utterance", start_time=at(0), attributes={HOP_ATTRIBUTE: "device"})
    under_root = trace.set_span_in_context(root)
    for name, a, b in (("device.wake", 0, 3), ("device.capture", 0, 1200), ("device.endpoint", 1200, 1840)):
        device_tracer.start_span(name, context=under_root, start_time=at(a),
                                 attributes={HOP_ATTRIBUTE: "device"}).end(end_time=at(b))
    uplink = device_tracer.start_span("device.uplink", context=under_root, start_time=at(5),
                                      attributes={HOP_ATTRIBUTE: "device"})
    parent = extract_context(inject_metadata(uplink))  # what the tier gets from the call's metadata
    t = 1850 + tier_skew_ms
    for name, d in (("regional.asr", 150), ("regional.nlu", 2), ("regional.skill", 1)):
        tier_tracer.start_span(name, context=parent, start_time=at(t),
                               attributes={HOP_ATTRIBUTE: "regional"}).end(end_time=at(t + d))
        t += d
    uplink.end(end_time=at(whole_ms - 1))
    root.end(end_time=at(whole_ms))
    return format(root.get_span_context().trace_id, "032x")


def write_traces(path, wholes_ms, tier_skew_ms=0.0):
    """Files from the real exporter, as ``--trace-file`` writes them: the device's, then the tier's."""
    device_file, tier_file = path / "device.jsonl", path / "tier.jsonl"
    with open(device_file, "a") as df, open(tier_file, "a") as tf:
        device, _ = make_provider("proxima-device", df)
        tier, _ = make_provider("proxima-regional", tf)
        ids = [utterance(device.get_tracer("t"), tier.get_tracer("t"), w, tier_skew_ms, T0 + i * 10_000 * MS)
               for i, w in enumerate(wholes_ms)]
        device.shutdown()
        tier.shutdown()
    return device_file, tier_file, ids


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(capsys, args, phrase):
    try:
        code, _, err = cli(capsys, *args)
    except SystemExit as exit:  # argparse's usage errors
        code, err = exit.code, capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and phrase in lines[0], err
    assert "Traceback" not in err


# -- exporters -------------------------------------------------------------------------

def test_trace_file_holds_one_json_line_per_span_as_it_ends(tmp_path):
    device_file, tier_file, (trace_id,) = write_traces(tmp_path, [2100])
    lines = device_file.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["context"]["trace_id"] == "0x" + trace_id for line in lines)
    spans = {s.name: s for s in read_spans([str(device_file), str(tier_file)])}
    assert spans["utterance"].parent_id is None and spans["utterance"].duration_ms == 2100
    assert spans["device.capture"].parent_id == spans["utterance"].span_id
    assert {spans[n].parent_id for n in ("regional.asr", "regional.nlu", "regional.skill")} == \
        {spans["device.uplink"].span_id}, "the tier's spans hang off the stream that carried the context"
    assert spans["regional.asr"].service == "proxima-regional" and spans["regional.asr"].hop == "regional"


def test_otlp_export_reaches_a_collector_and_is_flushed_on_shutdown():
    with Collector() as collector:
        device, _ = make_provider("proxima-device", otlp_endpoint=collector.address)
        tier, _ = make_provider("proxima-regional", otlp_endpoint="http://" + collector.address)
        trace_id = utterance(device.get_tracer("t"), tier.get_tracer("t"), 2100)
        assert collector.spans == [], "batched: nothing is sent per span"
        device.shutdown()
        tier.shutdown()
        spans = collector.spans
    assert {s.trace_id for s in spans} == {trace_id}
    assert sorted(s.name for s in spans) == sorted(["utterance", "device.wake", "device.capture", "device.endpoint",
                                                    "device.uplink", "regional.asr", "regional.nlu", "regional.skill"])
    by_name = {s.name: s for s in spans}
    assert by_name["regional.asr"].parent_id == by_name["device.uplink"].span_id
    assert by_name["utterance"].service == "proxima-device" and by_name["regional.nlu"].service == "proxima-regional"
    assert by_name["utterance"].end_ns - by_name["utterance"].start_ns == 2100 * MS


def test_otel_variables_choose_the_collector_and_service_name(monkeypatch):
    with Collector() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + collector.address)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "kitchen-speaker")
        provider, _ = make_provider("proxima-device")
        provider.get_tracer("t").start_span("utterance").end()
        provider.shutdown()
        assert [(s.name, s.service) for s in collector.spans] == [("utterance", "kitchen-speaker")]

        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
        provider, collected = make_provider("proxima-device")
        span = provider.get_tracer("t").start_span("utterance")
        span.end()
        provider.shutdown()
        assert len(collector.spans) == 1, "none: nothing exported"
        assert collected.pop(span.get_span_context().trace_id), "spans are still kept for the device's JSON output"


def test_console_exporter_writes_json_lines_to_stderr(monkeypatch, capsys):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    provider, _ = make_provider("proxima-device")
    provider.get_tracer("t").start_span("device.wake").end()
    provider.shutdown()
    out, err = capsys.readouterr()
    assert out == "", "stdout stays for the device's results"
    assert json.loads(err)["name"] == "device.wake"


def test_every_span_is_recorded_whatever_the_sampler(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    provider, collected = make_provider("proxima-device")
    span = provider.get_tracer("t").start_span("utterance")
    span.end()
    assert collected.pop(span.get_span_context().trace_id)


@pytest.mark.parametrize("variables, phrase", [
    ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER names zipkin"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "OTLP over gRPC only"),
])
def test_unusable_otel_variables_are_one_line(monkeypatch, capsys, variables, phrase):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    # Checked before any model loads: this fails at once.
    assert_one_line_error(capsys, ["device", "--fast", "--wav", "samples/what_time.wav"], phrase)


@pytest.mark.parametrize("endpoint", ["nonsense", "127.0.0.1:99999", "ftp://host:4317", "http://:4317"])
def test_bad_otlp_endpoint_is_a_usage_error(capsys, endpoint):
    assert_one_line_error(capsys, ["serve", "--port", "0", "--otlp-endpoint", endpoint], "OTLP endpoint")


# -- proxima trace -------------------------------------------------------------------------

def test_trace_report_places_the_tiers_spans_under_the_uplink_whatever_its_clock(tmp_path, capsys):
    device_file, tier_file, ids = write_traces(tmp_path, [2100, 2500, 3000], tier_skew_ms=-7_000)
    code, out, err = cli(capsys, "trace", str(device_file), str(tier_file), "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert [t["trace_id"] for t in report["traces"]] == ids
    for t, whole in zip(report["traces"], [2100, 2500, 3000]):
        spans = {s["name"]: s for s in t["spans"]}
        assert spans["utterance"]["start_ms"] == 0 and spans["utterance"]["duration_ms"] == whole
        uplink_end = spans["device.uplink"]["start_ms"] + spans["device.uplink"]["duration_ms"]
        skill = spans["regional.skill"]
        assert skill["start_ms"] + skill["duration_ms"] == pytest.approx(uplink_end, abs=0.1), \
            "the tier's last stage ends when the device received the result, despite the tier's clock"
        assert spans["regional.asr"]["duration_ms"] == 150
        assert spans["regional.nlu"]["start_ms"] == pytest.approx(spans["regional.asr"]["start_ms"] + 150, abs=0.1)
    stats = report["span_stats"]
    assert list(stats)[:2] == ["utterance", "device.wake"], "docs/architecture.md's order"
    assert stats["utterance"] == {"count": 3, "p50_ms": 2500.0,
                                  "p95_ms": round(float(np.percentile([2100, 2500, 3000], 95)), 1)}
    assert stats["regional.asr"]["count"] == 3


def test_trace_report_text_has_a_waterfall_per_utterance_and_percentiles(tmp_path, capsys):
    device_file, tier_file, ids = write_traces(tmp_path, [2100, 2500])
    code, out, _ = cli(capsys, "trace", str(device_file), str(tier_file))
    assert code == 0
    assert [line.split()[1] for line in out.splitlines() if line.startswith("trace ")] == ids
    assert "utterance 2100 ms" in out and "utterance 2500 ms" in out
    waterfall = [line for line in out.splitlines() if line.startswith("  regional.asr ") and line.endswith("|")]
    assert len(waterfall) == 2
    assert "span durations over 2 trace(s), ms" in out
    table = out.split("span durations over 2 trace(s), ms\n")[1].splitlines()
    assert table[0].split() == ["span", "count", "p50", "p95"]
    assert table[1].split() == ["utterance", "2", "2300.0", "2480.0"]


def test_a_tier_file_alone_still_reports(tmp_path):
    _, tier_file, ids = write_traces(tmp_path, [2100])
    report = json.loads(render([str(tier_file)], as_json=True))
    spans = report["traces"][0]["spans"]
    assert report["traces"][0]["trace_id"] == ids[0]
    assert [s["name"] for s in spans] == ["regional.asr", "regional.nlu", "regional.skill"]
    assert spans[0]["start_ms"] == 0


def test_bad_trace_files_are_one_line(tmp_path, capsys):
    good, _, _ = write_traces(tmp_path, [2100])
    first = good.read_text().splitlines()[0]
    span = json.loads(first)
    cases = {
        "garbled.jsonl": ("{not json\n", "garbled.jsonl line 1 is not a span"),
        "list.jsonl": ("[1, 2]\n", "not a JSON object"),
        "nocontext.jsonl": (json.dumps({k: v for k, v in span.items() if k != "context"}) + "\n", "missing 'context'"),
        "badid.jsonl": (first + "\n" + json.dumps({**span, "context": {**span["context"], "trace_id": "0x12"}}) + "\n",
                        "line 2 is not a span (trace_id is not 32 hex digits)"),
        "badtime.jsonl": (json.dumps({**span, "end_time": "yesterday"}) + "\n", "end_time is not a time"),
        "empty.jsonl": ("\n", "no spans in"),
    }
    for name, (content, phrase) in cases.items():
        (tmp_path / name).write_text(content)
        assert_one_line_error(capsys, ["trace", str(tmp_path / name)], phrase)
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    assert_one_line_error(capsys, ["trace", str(tmp_path / "binary.jsonl")], "is not a text file")
    assert_one_line_error(capsys, ["trace", str(tmp_path / "missing.jsonl")],
                          "cannot read the trace file")
    assert_one_line_error(capsys, ["trace", str(tmp_path)], "cannot read the trace file")
    assert_one_line_error(capsys, ["trace"], "the following arguments are required: FILE")


def test_a_last_line_cut_off_is_skipped_with_a_note(tmp_path, capsys, caplog):
    """A device killed while writing a span leaves a partial last line; the rest still reads."""
    good, _, ids = write_traces(tmp_path, [2100, 2500])
    lines = good.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40])
    code, out, _ = cli(capsys, "trace", str(cut), "--json")
    assert code == 0 and any("the last line (" in r.getMessage() and "cut off" in r.getMessage() for r in caplog.records)
    assert [t["trace_id"] for t in json.loads(out)["traces"]] == ids
    cut.write_text(lines[0][:40] + "\n" + "\n".join(lines[1:]) + "\n")  # cut off but not last: an error
    assert_one_line_error(capsys, ["trace", str(cut)], "cut.jsonl line 1 is not a span")


# -- stream time -------------------------------------------------------------------------

def test_stream_clock_starts_at_the_first_frame_and_never_goes_back():
    clock = StreamClock()
    time.sleep(0.05)  # waiting for the audio to start is no part of it
    clock.tick(80.0)
    assert 80.0 <= clock.now() < 80.0 + 30
    clock.tick(160.0)  # --fast: the next frame at once, stream time jumps to it
    assert 160.0 <= clock.now() < 160.0 + 30
    time.sleep(0.12)  # this frame took longer than 80 ms: the pipeline falls behind
    before = clock.now()
    clock.tick(240.0)
    assert clock.now() >= before >= 160.0 + 120, "a backlog counts: stream time does not go back to the frame"
    assert clock.from_ns(clock.to_ns(123.456)) == pytest.approx(123.456, abs=1e-6)
