"""Chat benchmarks: ingest throughput and command-reply latency. Printed, never asserted.

* Ingest: raw Twitch IRC lines (as WebSocket frames) through the connector's parsing, the
  bus (dedupe, the ``check_chat_message`` gating hook), command routing, every core
  subscriber (the chat overlay's included) and the chat log's batched writes, against a
  bare parse loop over the same lines in the same run, and against sopel 8's parser alone
  (issue 16's goals: at least sopel's rate, and at least 25,000 messages per CPU second);
  and the same pipeline with the chat log off, to show what the log costs. Each rate is measured
  by the wall clock and per CPU second: on a shared machine the wall clock also counts
  the time other processes had the core, so the per-CPU ratio is the steadier one.
* Reply latency: from a command line handed to the bus to its reply queued for sending,
  p50/p99 while ordinary chat flows around it. Goal: p99 under 2 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from limelight import bus as bus_module
from limelight import command, hookimpl
from limelight.chat import LocalConnector
from limelight.events import ChatMessage
from limelight.testing import make_chat
from limelight_twitch import TwitchPlugin
from limelight_twitch.config import TwitchConfig
from limelight_twitch.connector import TwitchConnector
from limelight_twitch.irc import parse_line
from limelight_twitch.mapping import IrcMapper

from tests.chat.fake_twitch import privmsg

from .report import record, startup_heap_frozen

N_LINES = 40_000
LINES_PER_FRAME = 10
N_COMMANDS = 2_000
SOPEL_URL_SCHEMES = ("http", "https", "ftp")  # sopel's default core.auto_url_schemes


def _sopel_parse_seconds(frames: list[str]) -> tuple[float, float] | None:
    """Seconds (wall clock, CPU) sopel 8 takes to parse the same frames the way its bot
    does for each raw line (``AbstractBot.on_message`` builds a
    ``sopel.trigger.PreTrigger``: tags, hostmask, command, arguments, URLs). Parsing
    alone: no dispatch, no plugins. ``None`` when sopel is not installed (``make bench``
    installs it through the ``bench`` extra)."""
    try:
        from sopel.tools.identifiers import Identifier
        from sopel.trigger import PreTrigger
    except ImportError:
        return None
    nick = Identifier("limelight")
    cpu = time.process_time()
    started = time.perf_counter()
    for frame in frames:
        for raw in frame.split("\n"):
            line = raw.rstrip("\r")
            if line:
                PreTrigger(nick, line, url_schemes=SOPEL_URL_SCHEMES)
    return time.perf_counter() - started, time.process_time() - cpu


class Bot:
    """A gating hook that looks at every line and one command, as a real setup has.

    The hook is ``async def``, as the docs advise for per-message hooks: a plain ``def``
    hook runs on the plugin's worker thread, one hop per line."""

    @hookimpl
    async def check_chat_message(self, message):
        return None

    @command("hello")
    async def hello(ctx, call) -> str:
        "Says hello."
        return f"Hello, {call.viewer.name}!"

    @hookimpl
    def register_commands(self, register):
        register(Bot.hello)


class BenchTwitch(TwitchConnector):
    """The real connector's parsing and publishing; sends go nowhere (no socket here)."""

    name = "twitch-bench"

    async def send(self, message):  # type: ignore[no-untyped-def]
        return None


#: Lines per millisecond of ``tmi-sent-ts``: a 5,000 msg/s flood, the issue's figure (the
#: mapper reuses the time of a line sent in the same millisecond as the one before; lines
#: generated as fast as this loop runs would share one ~80 at a time and flatter it).
LINES_PER_MS = 5


def _lines(n: int, first: int = 0) -> list[str]:
    """``n`` chat lines with random version-4 message ids, as Twitch sends, drawn from a
    generator seeded with ``first`` (each round of the ingest benchmark takes lines of its
    own: the pipeline would drop a repeated id). Why random: ids in counting order (this
    benchmark's until 2026-12-03) land at the end of the chat log's unique index, where
    Twitch's land anywhere in it."""
    out = []
    first_ms = int(time.time() * 1000) - n // LINES_PER_MS
    ids = random.Random(first)  # the same ids in every run
    for i in range(first, first + n):
        text = "!hello" if i % 50 == 0 else f"message number {i} Kappa PogChamp"
        out.append(
            privmsg(
                "streamer",
                text,
                user=f"viewer{i % 700}",
                user_id=str(10_000 + i % 700),
                msg_id=str(uuid.UUID(int=ids.getrandbits(128), version=4)),
                badges="subscriber/12" if i % 3 else "",
                subscriber=bool(i % 3),
                sent_ms=first_ms + (i - first) // LINES_PER_MS,
            )
        )
    return out


def _frames(lines: list[str]) -> list[str]:
    return [
        "".join(f"{line}\r\n" for line in lines[i : i + LINES_PER_FRAME])
        for i in range(0, len(lines), LINES_PER_FRAME)
    ]


async def _read(conn: TwitchConnector, frame: str) -> None:
    """What the read loop does with a received frame: ``_irc_text``, the frame-level entry
    point; a tree from before it (run with this file to compare) took each line through
    ``_irc_message``, one coroutine per line, and gets that."""
    irc_text = getattr(conn, "_irc_text", None)
    if irc_text is not None:
        rest = irc_text(None, frame)
        if not isinstance(rest, bool):
            await rest
        return
    for raw in frame.split("\n"):
        line = raw.rstrip("\r")
        if line:
            await conn._irc_message(None, parse_line(line))  # type: ignore[arg-type]


@pytest.fixture
def set_heap_aside() -> Iterator[Callable[[], None]]:
    """What ``limelight run`` does a second after it answers (:mod:`limelight.heap`): the
    benchmark calls it once its server is up; undone after the benchmark."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(startup_heap_frozen())


#: Rounds of the ingest benchmark: the bare loop, sopel and the pipeline take turns, each
#: on lines of its own round, and the figures are the medians. Why: on a shared machine
#: one measurement of a ~1 s loop moves by a fifth from run to run (sopel's parse did, in
#: three ``make bench`` runs of the same commit), and taking turns exposes both sides to
#: the same moments of the machine.
INGEST_ROUNDS = 3


def _parse_seconds(frames: list[str]) -> tuple[float, float, int]:
    """The baseline: split frames into lines and parse them into events, nothing else.
    Wall seconds, CPU seconds, events made."""
    mapper = IrcMapper()
    cpu = time.process_time()
    started = time.perf_counter()
    produced = 0
    for frame in frames:
        for raw in frame.split("\n"):
            line = raw.rstrip("\r")
            if line:
                produced += len(mapper.map(parse_line(line)))
    return time.perf_counter() - started, time.process_time() - cpu, produced


async def _pipeline_seconds(
    h: Any, conn: TwitchConnector, frames: list[str]
) -> tuple[float, float, int]:
    """The whole pipeline: the read loop's path without a socket (frame -> lines ->
    events -> bus -> lanes -> the chat log), until every lane is idle and every line is in
    the log. Wall and CPU seconds (the CPU is the process's, whatever else the machine
    runs, the chat log's writing thread included), and how many lines were still waiting
    for the log when the lanes were done.

    Why the log's flush is inside the window: it writes the lines in batches beside the
    pipeline, and under this flood it falls behind (up to seven eighths of a
    round's lines were still waiting when the lanes were idle). Left out, that work was
    done after the window, or in the next round, where the log's thread ran during the
    bare loop's and sopel's own timing: the pipeline was measured without part of its
    cost, and the peer with part of it."""
    bus = h.services.bus
    cpu = time.process_time()
    started = time.perf_counter()
    for n, frame in enumerate(frames):
        await _read(conn, frame)
        if n % 20 == 19:  # a socket read yields to the loop
            await asyncio.sleep(0)
    await h.settle(timeout=300)
    waiting = len(bus._chat_batch)
    await bus.flush()
    return time.perf_counter() - started, time.process_time() - cpu, waiting


async def bench_chat_ingest(limelight, capsys, set_heap_aside) -> None:
    h = await limelight(plugins={"twitch": TwitchPlugin, "bot": Bot()})
    set_heap_aside()
    chat = h.services.chat
    bus = h.services.bus
    conn = BenchTwitch(TwitchConfig(channel="streamer", eventsub=False))
    conn._sink = chat
    chat.connectors[conn.name] = conn
    bares: list[tuple[float, float]] = []
    sopels: list[tuple[float, float]] = []
    fulls: list[tuple[float, float]] = []
    unlogged: list[float] = []
    waiting: list[int] = []
    produced = 0
    for round_ in range(INGEST_ROUNDS):
        frames = _frames(_lines(N_LINES, first=round_ * N_LINES))
        bare, bare_cpu, produced = _parse_seconds(frames)
        bares.append((bare, bare_cpu))
        sopel_times = _sopel_parse_seconds(frames)  # the peer, on the same lines
        if sopel_times is not None:
            sopels.append(sopel_times)
        full, full_cpu, left = await _pipeline_seconds(h, conn, frames)
        fulls.append((full, full_cpu))
        waiting.append(left)
        # The same pipeline with the chat log off, on lines of its own: what the log costs.
        bus.persist = False
        try:
            unlogged_lines = _lines(N_LINES, first=(INGEST_ROUNDS + round_) * N_LINES)
            unlogged.append((await _pipeline_seconds(h, conn, _frames(unlogged_lines)))[1])
        finally:
            bus.persist = True
    bare, bare_cpu = (statistics.median(x) for x in zip(*bares, strict=True))
    full, full_cpu = (statistics.median(x) for x in zip(*fulls, strict=True))
    unlogged_cpu = statistics.median(unlogged)
    sopel, sopel_cpu = (
        (statistics.median(x) for x in zip(*sopels, strict=True)) if sopels else (None, None)
    )
    lanes = h.services.bus.lanes
    shed = sum(lane.shed for lane in lanes.values())

    with capsys.disabled():
        print(
            f"\nchat ingest: {N_LINES:,} Twitch PRIVMSG lines in {N_LINES // LINES_PER_FRAME:,} "
            f"frames (2% commands), subscribers: {', '.join(sorted(lanes))}; medians of "
            f"{INGEST_ROUNDS} rounds, each side in turn on lines of its own round"
        )
        print(
            f"  full pipeline   : {N_LINES / full:12,.0f} msg/s  (parse, dedupe, gating "
            f"hook, routing, subscribers, chat log)"
        )
        print(f"  bare parse loop : {N_LINES / bare:12,.0f} msg/s  ({produced:,} events)")
        print(
            f"  per CPU second  : {N_LINES / full_cpu:12,.0f} msg/s through the pipeline, "
            f"{N_LINES / bare_cpu:,.0f} bare"
        )
        print(
            f"  ratio           : {full / bare:12.1f}x the bare parse loop "
            f"(goal: >= 25,000 msg/s per CPU second through the pipeline)"
        )
        if sopel is None or sopel_cpu is None:
            print("  sopel 8 parse   : skipped, sopel is not installed (`make bench` installs it)")
        else:
            rounds = ", ".join(f"{s[1] / f[1]:.2f}" for s, f in zip(sopels, fulls, strict=True))
            print(
                f"  sopel 8 parse   : {N_LINES / sopel:12,.0f} msg/s  (PreTrigger per line, "
                f"alone), {N_LINES / sopel_cpu:,.0f} per CPU second"
            )
            print(
                f"  vs sopel        : {sopel / full:12.2f}x sopel's parse rate through our "
                f"whole pipeline, {sopel_cpu / full_cpu:.2f}x per CPU second (goal: >= 1.0x; "
                f"rounds: {rounds})"
            )
        log_us = (full_cpu - unlogged_cpu) / N_LINES * 1e6
        print(
            f"  without the log : {N_LINES / unlogged_cpu:12,.0f} msg per CPU second (the chat "
            f"log off: its batch, rows and writes cost {log_us:.1f} µs a line, "
            f"{1 - unlogged_cpu / full_cpu:.0%} of the whole)"
        )
        if sopel_cpu is not None:
            print(f"{'':20}{sopel_cpu / unlogged_cpu:12.2f}x sopel's parse per CPU second")
        print(f"  commands run    : {chat.commands_run:12,d}   shed under load: {shed:,}")
        print(
            f"  chat log        : {', '.join(f'{n:,}' for n in waiting)} lines of each round "
            f"still waiting for it when the lanes were idle (written inside the window)"
        )
    record("chat.ingest.msg_per_s", N_LINES / full, N_LINES / bare, unit="msg/s")
    record("chat.ingest.msg_per_cpu_s", N_LINES / full_cpu, N_LINES / bare_cpu, unit="msg/s")
    if sopel is not None and sopel_cpu is not None:
        record("chat.ingest.vs_sopel_msg_per_s", N_LINES / full, N_LINES / sopel, unit="msg/s")
        record(
            "chat.ingest.vs_sopel_msg_per_cpu_s",
            N_LINES / full_cpu,
            N_LINES / sopel_cpu,
            unit="msg/s",
        )
        record("chat.sopel_parse.msg_per_s", N_LINES / sopel, N_LINES / bare, unit="msg/s")
        record(
            "chat.ingest.unlogged_vs_sopel_msg_per_cpu_s",
            N_LINES / unlogged_cpu,
            N_LINES / sopel_cpu,
            unit="msg/s",
        )
    record("chat.ingest.shed", shed, unit="chat events")
    record("chat.ingest.log_waiting", max(waiting), unit="lines")


#: Chat lines already in the log for :func:`bench_chat_log_into_a_long_log`: about a week
#: of a busy channel (the busiest average ~8 lines a second, ~700,000 a day).
LONG_LOG_LINES = 500_000
#: Lines written and timed, into the empty log and into the long one.
LOG_LINES_TIMED = 20_000
#: Lines a batch: what the flusher writes at a time under a steady chat.
LOG_BATCH = 500


def _log_lines(count: int, first: datetime) -> list[ChatMessage]:
    """``count`` chat lines from ``first`` on, 5 a millisecond, with random version-4 ids
    (Twitch's)."""
    base = make_chat("message number 12 Kappa PogChamp", "viewer12", source="twitch")
    ids = random.Random(first.timestamp())
    return [
        dataclasses.replace(
            base,
            source_id=str(uuid.UUID(int=ids.getrandbits(128), version=4)),
            occurred_at=first + timedelta(milliseconds=i // LINES_PER_MS),
        )
        for i in range(count)
    ]


async def _log_seconds(lines: list[ChatMessage]) -> tuple[float, float]:
    """Wall and CPU seconds (the loop's and SQLite's thread) to write ``lines`` to the chat
    log in flush-sized batches."""
    cpu, started = time.process_time(), time.perf_counter()
    for i in range(0, len(lines), LOG_BATCH):
        await bus_module._write_chat_rows(lines[i : i + LOG_BATCH])
    return time.perf_counter() - started, time.process_time() - cpu


async def bench_chat_log_into_a_long_log(limelight, capsys) -> None:
    """What a chat line costs the chat log once the log is long, against the same lines
    into an empty log (the baseline, same run): a line's key in the log's unique index
    must not get dearer as the log grows (with Twitch's random ids as the key, it did:
    docs/performance.md, "Per chat line", sixth round)."""
    await limelight()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    empty = await _log_seconds(_log_lines(LOG_LINES_TIMED, start))
    filled = time.perf_counter()
    for i in range(0, LONG_LOG_LINES, 20_000):
        chunk = _log_lines(20_000, start + timedelta(hours=1, seconds=i // 5_000))
        await bus_module._write_chat_rows(chunk)
    filled = time.perf_counter() - filled
    long = await _log_seconds(_log_lines(LOG_LINES_TIMED, start + timedelta(days=7)))
    per_line = [x / LOG_LINES_TIMED * 1e6 for x in (*empty, *long)]
    empty_wall, empty_cpu, long_wall, long_cpu = per_line
    with capsys.disabled():
        print(
            f"\nchat log: {LOG_LINES_TIMED:,} lines with Twitch-like ids in batches of "
            f"{LOG_BATCH}, into an empty log and into one of {LONG_LOG_LINES:,} lines "
            f"(filled in {filled:.1f} s)"
        )
        print(
            f"  empty log       : {empty_cpu:8.1f} µs of CPU a line, {empty_wall:.1f} µs "
            f"by the wall clock"
        )
        print(
            f"  long log        : {long_cpu:8.1f} µs of CPU a line, {long_wall:.1f} µs "
            f"by the wall clock ({long_cpu / empty_cpu:.2f}x the empty log's CPU)"
        )
    record("chat.log.long_cpu_us_per_line", long_cpu, empty_cpu, unit="µs")
    record("chat.log.long_wall_us_per_line", long_wall, empty_wall, unit="µs")


async def bench_command_reply_latency(limelight, capsys, set_heap_aside) -> None:
    h = await limelight(plugins={"bot": Bot()})
    set_heap_aside()
    chat = h.services.chat
    connector = LocalConnector("bench", platform="bench", channel="bench")
    await chat.attach(connector)
    queued: dict[str, float] = {}
    arrived = asyncio.Event()
    original_say = chat.say

    async def timed_say(text, **kw):
        parts = await original_say(text, **kw)
        reply_to = kw.get("reply_to")
        if reply_to is not None:
            queued[reply_to.source_id] = time.perf_counter()
            arrived.set()
        return parts

    chat.say = timed_say  # type: ignore[method-assign]
    latencies = []
    for i in range(N_COMMANDS):
        for j in range(10):  # ordinary chat around every command
            await connector.receive(connector.make_message(f"v{j}", f"just chatting {i}.{j}"))
        message = connector.make_message(f"viewer{i % 300}", "!hello")
        arrived.clear()
        started = time.perf_counter()
        await connector.receive(message)
        await arrived.wait()
        latencies.append((queued[message.source_id] - started) * 1000)
    await h.settle(timeout=120)

    # Baseline: call the handler and queue its reply directly, no bus, no routing.
    direct = []
    for i in range(N_COMMANDS):
        message = connector.make_message(f"viewer{i % 300}", "!hello")
        started = time.perf_counter()
        text = await Bot.hello(None, type("C", (), {"viewer": message.viewer})())
        await original_say(text, reply_to=message)
        direct.append((time.perf_counter() - started) * 1000)
    await h.settle(timeout=120)

    def pct(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100)[int(p) - 1]

    with capsys.disabled():
        print(f"\ncommand reply -> send queue: {N_COMMANDS:,} commands, 10 chat lines around each")
        print(
            f"  through the pipeline : p50 {pct(latencies, 50):7.3f} ms   "
            f"p99 {pct(latencies, 99):7.3f} ms   max {max(latencies):7.3f} ms"
        )
        print(
            f"  direct call + queue  : p50 {pct(direct, 50):7.3f} ms   "
            f"p99 {pct(direct, 99):7.3f} ms"
        )
        print("  (goal: p99 under 2 ms)")
    record("chat.reply.p50_ms", pct(latencies, 50), pct(direct, 50), unit="ms")
    record("chat.reply.p99_ms", pct(latencies, 99), pct(direct, 99), unit="ms")
