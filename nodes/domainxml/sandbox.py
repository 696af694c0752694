"""Running the XSLT chain in a separate process, so that a runaway stylesheet can be stopped.

libxslt cannot be interrupted from Python, and a stylesheet that recurses without end (or
does exponential work) would hold a web worker forever. Each process that renders (a web
worker, an rq job, a command) keeps a few helper processes, started on first use; a render
that takes longer than the limit kills its helper and reports it, and the next render starts
a fresh one. A round trip costs well under a millisecond.

Each helper also runs under an address-space limit (RLIMIT_AS), so that a stylesheet that
builds ever larger strings or trees stops with that limit named instead of taking the machine's
memory; the output's size and depth are checked and indented there too (chain.run).

A render may carry a key (the editor's previews: one per admin): a new render with the same
key stops the one still running, so that typing into a runaway stylesheet holds one helper,
not one per keystroke.
"""

import os
import queue
import resource
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

from nodes.domainxml import chain

TIME_LIMIT_S = 2.0
MEMORY_LIMIT_MB = 512  # a helper's whole address space; a render needs a few MiB
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Chain:
    stages: tuple
    check_schema: bool = True


@dataclass(frozen=True)
class Request:
    """One instance.xml through one or more chains (a preview renders two: with and without
    the edited rule), in one round trip."""

    instance_xml: bytes
    chains: tuple[Chain, ...]
    params: dict


@dataclass(frozen=True)
class KnownStage:
    """A stage whose text the helper already has: only its name and hash travel."""

    name: str
    key: str


OUT_OF_MEMORY = (
    f"The stylesheet needed more than the limit of {MEMORY_LIMIT_MB} MiB of memory and was "
    "stopped: look for strings or node sets that grow without end."
)


def serve():
    """The helper's loop (`python -m nodes.domainxml.sandbox`): render what stdin brings.
    After coming near its memory limit it answers, then exits: the next render gets a fresh
    helper."""
    limit = MEMORY_LIMIT_MB << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print must not corrupt the replies
    requests = Connection(0, writable=False)
    texts = {}
    while True:
        try:
            request = requests.recv()
        except EOFError:
            return
        try:
            outcomes = render_request(request, texts)
        except MemoryError:
            outcomes = failed(request, OUT_OF_MEMORY)
        if not near_memory_limit(limit):
            replies.send((outcomes, True))
            continue
        # libxslt reports a failed allocation as whatever failed next ("Undefined variable"):
        # name the limit instead.
        replies.send(([failed_one(OUT_OF_MEMORY) if o.errors else o for o in outcomes], False))
        return


def near_memory_limit(limit):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return peak > limit // 2


def render_request(request, texts):
    """One Outcome per chain of request; texts remembers the stylesheets seen, by hash."""
    outcomes, done = [], {}
    for wanted in request.chains:
        stages = []
        for stage in wanted.stages:
            if isinstance(stage, KnownStage):
                stage = chain.Stage(stage.name, texts[stage.key])
            else:
                texts[stage.key] = stage.text
            stages.append(stage)
        outcomes.append(
            chain.run(request.instance_xml, stages, request.params, wanted.check_schema, done)
        )
    return outcomes


SUPERSEDED = "A newer preview replaced this one before it finished."
CRASHED = "The XSLT processor crashed on this stylesheet."
BUSY = "Every XSLT helper of this web worker is busy: try again in a moment."


class Sandbox:
    def __init__(self, time_limit=TIME_LIMIT_S):
        self.time_limit = time_limit
        self.lock = threading.Lock()
        self.process = None
        self.owner_pid = None
        self.known = set()
        self.cancelled = False
        self.rendering = False
        self.state_lock = threading.Lock()  # rendering and cancelled, between threads

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nodes.domainxml.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        # The connections own duplicates of the pipe ends, so each is closed exactly once.
        self.requests = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.replies = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self.owner_pid = os.getpid()
        self.known = set()

    def stop(self):
        if self.process is not None and self.owner_pid == os.getpid():
            self.process.kill()
            self.process.wait()
            self.requests.close()
            self.replies.close()
        self.process = None

    def ready(self):
        # A forked copy (an rq work-horse) must not share its parent's helper.
        return (
            self.process is not None
            and self.owner_pid == os.getpid()
            and self.process.poll() is None
        )

    def shortened(self, request):
        """The request with the texts this helper has already seen replaced by their hash."""
        chains = []
        for wanted in request.chains:
            stages = []
            for stage in wanted.stages:
                key = stage.key
                stages.append(KnownStage(stage.name, key) if key in self.known else stage)
                self.known.add(key)
            chains.append(replace(wanted, stages=tuple(stages)))
        return replace(request, chains=tuple(chains))

    def cancel(self):
        """Stop the render in progress, if one is, from another thread; it answers
        SUPERSEDED."""
        with self.state_lock:
            process = self.process
            if self.rendering and process is not None and self.owner_pid == os.getpid():
                self.cancelled = True
                process.kill()

    def render(self, request) -> list[chain.Outcome]:
        with self.lock:
            if not self.ready():
                self.process = None
                self.start()
            with self.state_lock:
                self.cancelled, self.rendering = False, True
            try:
                return self.exchange(request)
            finally:
                with self.state_lock:
                    self.rendering = False

    def exchange(self, request):
        try:
            self.requests.send(self.shortened(request))
            if self.replies.poll(self.time_limit):
                outcomes, going_on = self.replies.recv()
                if not going_on:  # the helper is exiting: the next render starts a new one
                    self.stop()
                return outcomes
        except (EOFError, OSError):
            self.stop()
            return failed(request, SUPERSEDED if self.cancelled else CRASHED)
        self.stop()
        return failed(
            request,
            f"The stylesheet ran for more than {self.time_limit:g} s and was stopped: look "
            "for a template that calls itself without end, or work that grows exponentially.",
        )


def failed_one(message):
    return chain.Outcome(errors=[chain.Problem(message, "chain")])


def failed(request, message):
    return [failed_one(message) for _ in request.chains]


class Pool:
    """Up to `size` helpers per process, made as renders overlap: a runaway stylesheet holds
    only its own helper for its two seconds while other renders go on."""

    def __init__(self, size=4):
        self.size = size
        self.idle = queue.LifoQueue()
        self.made = 0
        self.lock = threading.Lock()
        self.running = {}  # key: the helper rendering for it

    def acquire(self):
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            with self.lock:
                if self.made < self.size:
                    self.made += 1
                    return Sandbox()
            # Every helper is busy: the longest any stays so is the time limit.
            return self.idle.get(timeout=TIME_LIMIT_S + 1)

    def supersede(self, key, sandbox):
        """Record sandbox as key's render, stopping the one it replaces (under the lock, so
        that a helper handed back and lent out again meanwhile is never stopped)."""
        with self.lock:
            previous, self.running[key] = self.running.get(key), sandbox
            if previous is not None:
                previous.cancel()

    def render(self, request, key=None):
        try:
            sandbox = self.acquire()
        except queue.Empty:
            return failed(request, BUSY)
        if key is not None:
            self.supersede(key, sandbox)
        try:
            return sandbox.render(request)
        finally:
            with self.lock:
                if key is not None and self.running.get(key) is sandbox:
                    del self.running[key]
            self.idle.put(sandbox)


_pool = Pool()


def render_chains(instance_xml, chains, params, key=None) -> list[chain.Outcome]:
    """Run instance_xml through each Chain; one Outcome per chain. A render with a key
    stops the previous render with that key if it is still running."""
    return _pool.render(Request(instance_xml, tuple(chains), dict(params)), key)


def render(instance_xml, stages, params, check_schema=True) -> chain.Outcome:
    return render_chains(instance_xml, [Chain(tuple(stages), check_schema)], params)[0]


if __name__ == "__main__":
    # Run the module's own copy, not __main__'s, so that the classes the parent pickles
    # (nodes.domainxml.sandbox.KnownStage …) are the ones serve() knows.
    from nodes.domainxml.sandbox import serve as serve_as_imported

    serve_as_imported()
