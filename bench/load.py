"""Load: simulated people on the pages and the API of `make run`, for minutes, on the sim node.

Prints one JSON line:
{"users", "seconds", "requests", "errors_5xx", "errors_connection", "lost_actions",
 "stuck_instances", "failed_actions", "p95_ms", "page_p95_ms", "api_p95_ms", "requests_per_s",
 "launches", "actions", "consoles_opened"}

- It starts `make run` itself, on free ports, a var directory and Redis database of its own
  (its SQLite database is in that directory), and stops it at the end as Ctrl-C does.
- As the admin it moves the demo's sim node (libvirt's test driver on the machine's
  libvirtd) into a cluster "load" of its own with room for every guest, so that every
  launch lands there and no QEMU guest starts, and makes the members' accounts.
- Locust then runs `--users` people for `--seconds` (50 for 300 by default), a tenth of
  them admins: each logs in on the login page and then, a second or two apart, reads pages
  (dashboard, lists, search, an instance, actions) and the API, and launches, stops,
  starts, reboots and terminates its instances through the API and the pages' forms, and
  opens their serial consoles through the console proxy (the test driver has no console,
  so the proxy spends the token, checks the session and closes it with libvirt's reason).
- errors_5xx counts answers of 500 and more, errors_connection requests that got no answer.
- After the load, every action asked for must finish within a minute: lost_actions counts
  those still queued or running then (or gone), stuck_instances the instances still busy.
- At the end it terminates every instance it launched, so the test driver keeps none.
Targets: errors_5xx 0, lost_actions 0, stuck_instances 0; p95_ms is reported.
Traffic goes only to 127.0.0.1.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import locust.log  # noqa: E402
import requests  # noqa: E402
import websocket  # noqa: E402
from locust import HttpUser, between, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REDIS_DB = 12
CLUSTER = "load"
MOST_INSTANCES = 4  # each person keeps at most this many
DRAIN_S = 60
FINISHED = {"succeeded", "failed"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """`make run` on free ports, its own var directory and Redis database."""

    def __init__(self):
        self.var_dir = Path(tempfile.mkdtemp(prefix="kumo-load-"))
        self.port, self.console_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"

    def __enter__(self):
        subprocess.run(["redis-cli", "-u", self.redis_url, "flushdb"], check=True, stdout=-3)
        env = {
            **os.environ,
            "PORT": str(self.port),
            "CONSOLE_PORT": str(self.console_port),
            "KUMO_VAR_DIR": str(self.var_dir),
            "REDIS_URL": self.redis_url,
        }
        env.pop("DATABASE_URL", None)
        self.log = open(self.var_dir / "make-run.log", "w")  # noqa: SIM115
        self.make = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 900  # a first `make run` installs what is missing
        while not self.answers():
            if self.make.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                sys.exit(f"`make run` did not start: see {self.log.name}")
            time.sleep(1)
        return self

    def answers(self):
        try:
            return requests.get(f"{self.url}/healthz", timeout=5).ok
        except requests.RequestException:
            return False

    def __exit__(self, *exc):
        os.killpg(self.make.pid, signal.SIGINT)  # Ctrl-C: run.sh stops what it started
        try:
            self.make.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(self.make.pid, signal.SIGKILL)
        subprocess.run(["redis-cli", "-u", self.redis_url, "flushdb"], stdout=-3)
        print(f"make run's logs: {self.var_dir}", file=sys.stderr)

    def admin_password(self):
        for line in (self.var_dir / "demo-logins.txt").read_text().splitlines():
            if line.split()[:1] == ["admin"]:
                return line.split()[1]
        raise SystemExit("No admin login in demo-logins.txt")


def log_in(session, url, username, password):
    session.get(f"{url}/login/")
    answer = session.post(
        f"{url}/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
    )
    assert answer.status_code == 302, f"{username} could not log in ({answer.status_code})"
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]


class Admin:
    """The admin's own session, for setting the cloud up and checking it afterwards."""

    def __init__(self, stack):
        self.url, self.session = stack.url, requests.Session()
        log_in(self.session, self.url, "admin", stack.admin_password())

    def call(self, method, path, expect=200, **kwargs):
        answer = self.session.request(method, f"{self.url}/api/v1/{path}", **kwargs)
        assert answer.status_code == expect, (method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def every(self, path):
        """Every row of an API list, page after page."""
        page = self.call("GET", f"{path}?limit=500")
        yield from page["results"]
        while page["next"]:
            page = self.session.get(page["next"]).json()
            yield from page["results"]

    def prepare(self, members):
        """Cluster "load" holding the sim node with room for everyone; the members'
        accounts, as {username: password}; the machine image to launch."""
        self.call("POST", "clusters/", expect=201, json={"name": CLUSTER})
        self.call(
            "PATCH",
            "nodes/sim/",
            json={"cluster": CLUSTER, "cpu_allocation_ratio": "16", "ram_allocation_ratio": "100"},
        )
        accounts = {
            f"load-{n:02}": self.call(
                "POST", "users/", expect=201, json={"username": f"load-{n:02}"}
            )["password"]
            for n in range(members)
        }
        [image] = [i["id"] for i in self.every("images/") if i["kind"] == "machine"]
        return accounts, image

    def wait_finished(self, action_ids, seconds):
        deadline = time.monotonic() + seconds
        while True:
            statuses = {a["id"]: a["status"] for a in self.every("actions/")}
            unfinished = [a for a in action_ids if statuses.get(a) not in FINISHED]
            if not unfinished or time.monotonic() > deadline:
                return unfinished, statuses
            time.sleep(2)

    def busy_instances(self):
        return [
            i["id"]
            for i in self.every("instances/")
            if i["task_state"] and i["vm_state"] != "deleted"
        ]

    def terminate_all(self):
        asked = []
        for instance in self.every("instances/"):
            if instance["vm_state"] != "deleted":
                answer = self.session.post(
                    f"{self.url}/api/v1/instances/{instance['id']}/actions/",
                    json={"action": "terminate"},
                )
                if answer.status_code == 202:
                    asked.append(answer.json()["action"]["id"])
        self.wait_finished(asked, DRAIN_S)


class Tally:
    """What the people did, beyond what Locust counts. Requests are named "page …",
    "api …" or "console …" (the websocket of a console)."""

    def __init__(self):
        self.times = {"page": [], "api": [], "console": []}
        self.requests = self.errors_5xx = self.errors_connection = self.consoles_opened = 0
        self.launches = self.actions = 0
        self.action_ids = []

    def on_request(self, name, response_time, response, exception, **kwargs):
        self.requests += 1
        self.times[name.split()[0]].append(response_time)
        status = getattr(response, "status_code", 0)
        if status >= 500:
            self.errors_5xx += 1
            print(f"{status} on {name}: {response.text[:300]}", file=sys.stderr)
        elif not status and not name.startswith("console"):
            self.errors_connection += 1
            print(f"no answer to {name}: {exception!r}", file=sys.stderr)

    def asked(self, action_ids, launches=0):
        self.action_ids += action_ids
        self.launches += launches
        self.actions += len(action_ids) - launches


TALLY = Tally()


class Visitor(HttpUser):
    """Someone logged in on the login page; pages and the API share the session."""

    abstract = True
    wait_time = between(0.5, 2.5)

    def on_start(self):
        username, password = self.login()
        self.client.get("/login/", name="page /login/")
        self.client.post(
            "/login/",
            name="page POST /login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.client.cookies["csrftoken"],
            },
        )
        self.client.headers["X-CSRFToken"] = self.client.cookies["csrftoken"]

    def page(self, path, name=None):
        self.client.get(path, name=f"page {name or path}")

    def api(self, method, path, name=None, expect=(200,), **kwargs):
        """An API call answered with one of expect (409: an instance that is busy)."""
        with self.client.request(
            method,
            f"/api/v1/{path}",
            name=f"api {method} {name or path}",
            catch_response=True,
            **kwargs,
        ) as answer:
            if answer.status_code not in expect:
                answer.failure(f"{answer.status_code}: {answer.text[:200]}")
                return None
            answer.success()
            return answer.json() if answer.content else None

    @task(4)
    def dashboard(self):
        self.page("/")

    @task(3)
    def action_list(self):
        self.page("/actions/")

    @task(2)
    def instance_search(self):
        self.page(f"/instances/?q=i-{random.choice('0123456789ABCDEF')}", "/instances/?q=")


class Member(Visitor):
    """A member: launches, acts on and opens the consoles of their own instances."""

    weight = 9
    accounts = {}  # username: password, one per member (Admin.prepare)
    image = None

    def login(self):
        self.instances = []
        return self.accounts.popitem()

    def own(self, vm_state=None):
        mine = [i["id"] for i in self.instances if vm_state in (None, i["vm_state"])]
        return random.choice(mine) if mine else None

    @task(6)
    def instance_list(self):
        self.page("/instances/")
        answer = self.api("GET", "instances/?limit=100", "instances/")
        if answer is not None:
            self.instances = [i for i in answer["results"] if i["vm_state"] != "deleted"]

    @task(4)
    def instance_page(self):
        if instance := self.own():
            self.page(f"/instances/{instance}/", "/instances/[id]/")

    @task(1)
    def images(self):
        self.page("/images/")

    @task(4)
    def api_reads(self):
        self.api("GET", "actions/?limit=20", "actions/")
        self.api("GET", "quota/")

    @task(2)
    def launch_or_terminate(self):
        if len(self.instances) >= MOST_INSTANCES:
            self.act(self.own(), "terminate")
        else:
            self.launch()

    def launch(self):
        body = {"image": self.image, "instance_type": "m1.small", "cluster": CLUSTER}
        answer = self.api("POST", "instances/", expect=(202,), json=body)
        if answer:
            TALLY.asked([a["id"] for a in answer["actions"]], launches=len(answer["actions"]))
            self.instances += answer["instances"]

    def act(self, instance, action):
        answer = self.api(
            "POST",
            f"instances/{instance}/actions/",
            "instances/[id]/actions/",
            expect=(202, 409),
            json={"action": action},
        )
        if answer and "action" in answer:
            TALLY.asked([answer["action"]["id"]])

    @task(3)
    def stop_start_or_reboot(self):
        if instance := self.own("active"):
            self.act(instance, random.choice(["stop", "reboot"]))
        elif instance := self.own("stopped"):
            self.act(instance, "start")

    @task(1)
    def stop_on_the_page(self):
        """The instance page's Stop button: a form POST answered with a redirect."""
        if instance := self.own("active"):
            self.client.post(
                f"/instances/{instance}/actions/stop/",
                name="page POST /instances/[id]/actions/stop/",
                data={"csrfmiddlewaretoken": self.client.cookies["csrftoken"]},
            )

    @task(1)
    def console(self):
        if not (instance := self.own("active")):
            return
        grant = self.api(
            "POST",
            f"instances/{instance}/console/",
            "instances/[id]/console/",
            expect=(201, 409),
            json={"type": "serial"},
        )
        if grant and "ws_url" in grant:
            self.open_console(grant["ws_url"])

    def open_console(self, ws_url):
        """Open the websocket and read its first frame: data, or the close and its reason."""
        started, exception = time.perf_counter(), None
        try:
            channel = websocket.create_connection(
                ws_url, origin=self.host, subprotocols=["binary"], timeout=10
            )
            channel.recv_data(control_frame=True)
            channel.close()
            TALLY.consoles_opened += 1
        except (OSError, websocket.WebSocketException) as error:
            exception = error
        self.environment.events.request.fire(
            request_type="WS",
            name="console websocket",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            response=None,
            exception=exception,
            context={},
        )


class Operator(Visitor):
    """An admin, reading the lists of the whole cloud."""

    weight = 1
    password = None

    def login(self):
        return "admin", self.password

    @task(4)
    def cloud_pages(self):
        self.page(random.choice(["/nodes/", "/users/", "/clusters/", "/instances/?node=sim"]))

    @task(3)
    def cloud_api(self):
        self.api("GET", random.choice(["nodes/", "users/", "instances/?limit=50"]))


def percentile95(times):
    return round(statistics.quantiles(times, n=20)[-1], 1) if len(times) >= 20 else None


def run_load(stack, users, seconds):
    environment = Environment(user_classes=[Member, Operator], host=stack.url)
    environment.events.request.add_listener(TALLY.on_request)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=2)  # logins hash passwords: a few at a time
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join()
    report(environment.stats)


def report(stats):
    """Each request's count, failures and times, slowest first, and the failures' reasons."""
    print(f"{'request':<52}{'count':>7}{'failed':>7}{'p50 ms':>8}{'p95 ms':>8}", file=sys.stderr)
    entries = sorted(stats.entries.values(), key=lambda e: -e.get_response_time_percentile(0.95))
    for entry in entries:
        print(
            f"{entry.name[:51]:<52}{entry.num_requests:>7}{entry.num_failures:>7}"
            f"{entry.median_response_time:>8}{entry.get_response_time_percentile(0.95):>8}",
            file=sys.stderr,
        )
    for error in stats.errors.values():
        print(f"{error.occurrences} × {error.name}: {error.error}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=300)
    args = parser.parse_args()
    locust.log.setup_logging("WARNING")
    with Stack() as stack:
        admin = Admin(stack)
        Member.accounts, Member.image = admin.prepare(args.users)
        Operator.password = stack.admin_password()
        started = time.monotonic()
        run_load(stack, args.users, args.seconds)
        elapsed = time.monotonic() - started
        lost, statuses = admin.wait_finished(TALLY.action_ids, DRAIN_S)
        stuck = admin.busy_instances()
        admin.terminate_all()
    failed = [a for a in TALLY.action_ids if statuses.get(a) == "failed"]
    print(f"lost: {lost}, stuck: {stuck}, failed: {failed}", file=sys.stderr)
    print(
        json.dumps(
            {
                "users": args.users,
                "seconds": round(elapsed),
                "requests": TALLY.requests,
                "errors_5xx": TALLY.errors_5xx,
                "errors_connection": TALLY.errors_connection,
                "lost_actions": len(lost),
                "stuck_instances": len(stuck),
                "failed_actions": len(failed),
                "p95_ms": percentile95(TALLY.times["page"] + TALLY.times["api"]),
                "page_p95_ms": percentile95(TALLY.times["page"]),
                "api_p95_ms": percentile95(TALLY.times["api"]),
                "requests_per_s": round(TALLY.requests / elapsed, 1),
                "launches": TALLY.launches,
                "actions": TALLY.actions,
                "consoles_opened": TALLY.consoles_opened,
            }
        )
    )


if __name__ == "__main__":
    main()
