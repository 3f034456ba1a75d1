"""tests/conformance/targets/amqp.py - the amqp target: RabbitMQ 3.10:
cold start (the node boots in 10-16 s here: a longer deadline, few
trials), a vhost created late, the user's permissions granted late, a
queue declared late, a password set late (expect="fail": 403 is
fatal at once), a memory alarm that blocks publishers. The node is started
once; every lifecycle but cold start changes it through rabbitmqctl (about
a second of Erlang start each, which the random delay absorbs)."""

import time

import truth  # noqa: E402
from lifecycles import delay, Lifecycle, wait_for_it  # noqa: E402


class Amqp:
    name = "amqp"
    PASSWORD = "conformance-pw-5b2f"
    # RabbitMQ boots in 10-16 s on this machine under load: the cold start
    # needs more than the run's 12 s.
    deadline = 30

    def __init__(self, short):
        from rabbitmq import RabbitMQ
        self.srv = RabbitMQ(users={"app": self.PASSWORD,
                                   "lateuser": "another-pw-77c1"},
                            vhosts={"app": ["app", "lateuser"]},
                            queues={"app": ["jobs"]})
        self.short = short
        self.vhost, self.user, self.queue = "app", "app", "jobs"
        self.late = 0

    def start(self):
        self.srv.start(seconds=90)

    def stop(self):
        self.srv.stop()

    def url(self):
        return "amqp://%s:%s@127.0.0.1:%d/%s" % (
            self.user, self.PASSWORD, self.srv.port, self.vhost)

    def check(self):
        return truth.amqp("127.0.0.1", self.srv.port, self.user,
                          self.PASSWORD, self.vhost, self.queue)

    def client(self):
        # A write and a read: publish to the queue, get one message back.
        # Bounded: a blocked publisher (a resource alarm) waits in its
        # close until the alarm clears, which must count as not serving;
        # 1 s is far beyond a publish here (about 20 ms) and well short
        # of how long the alarm lifecycle holds the alarm.
        return ("timeout 1 amqp-publish --url=%s -r %s -b gated && "
                "amqp-get --url=%s -q %s >/dev/null"
                % (self.url(), self.queue, self.url(), self.queue))

    def probe(self):
        # publish = yes: the truth and the gated client publish, and a
        # broker under a resource alarm blocks exactly that.
        return ("plugin = amqp\nhost = 127.0.0.1\nport = %d\nuser = %s\n"
                "password = %s\nvhost = %s\nqueue = %s\npublish = yes\n"
                % (self.srv.port, self.user, self.PASSWORD, self.vhost,
                   self.queue))

    def anchors(self):
        # rabbitmq-diagnostics ping / check_port_connectivity, the usual
        # container health checks, take 1.2-1.4 s each here (an Erlang VM
        # starts per call): a loop of them would load the shared machine
        # and measure the CLI's start, so only wait-for-it.
        return {"wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def ctl(self, *args):
        return self.srv.ctl(*args)

    def eval(self, erl):
        return self.ctl("eval", erl)

    def running(self):
        return self.srv.proc is not None and self.srv.proc.poll() is None

    def ensure_up(self):
        if not self.running():
            self.srv.start(seconds=90)
        self.srv.wait_ready(90)  # after a cold start trial: booted by now?
        self.vhost, self.user, self.queue = "app", "app", "jobs"

    def lifecycles(self):
        def stopped():
            self.ensure_up()
            # A first boot: no Mnesia yet, the definitions loaded by it.
            self.srv.stop_server(wipe=True)

        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.start(wait=False)

        def no_vhost_yet():
            self.ensure_up()
            self.late += 1
            self.vhost = "late%d" % self.late

        def create_vhost(rng):
            # What provisioning does, in its order: the vhost, the
            # user's permissions on it, the queue.
            time.sleep(delay(rng))
            self.eval(
                "V = <<\"%s\">>, ok = rabbit_vhost:add(V, <<\"conf\">>), "
                "ok = rabbit_auth_backend_internal:set_permissions("
                "<<\"app\">>, V, <<\".*\">>, <<\".*\">>, <<\".*\">>, "
                "<<\"conf\">>), %s" % (self.vhost, self.declare_erl(
                    self.vhost, "jobs")))

        def no_permission_yet():
            self.ensure_up()
            self.user = "lateuser"
            # one eval: every rabbitmqctl call starts an Erlang VM (~1 s)
            self.eval("U = <<\"lateuser\">>, "
                      "rabbit_auth_backend_internal:clear_permissions(U, "
                      "<<\"app\">>, <<\"conf\">>), "
                      "ok = rabbit_auth_backend_internal:change_password(U, "
                      "<<\"%s\">>, <<\"conf\">>)." % self.PASSWORD)

        def grant(rng):
            time.sleep(delay(rng))
            self.ctl("set_permissions", "-p", "app", "lateuser", ".*", ".*",
                     ".*")

        def no_queue_yet():
            self.ensure_up()
            self.late += 1
            self.queue = "late%d" % self.late

        def declare(rng):
            time.sleep(delay(rng))
            self.eval(self.declare_erl("app", self.queue))

        def wrong_password():
            self.ensure_up()
            self.user = "lateuser"
            self.eval("U = <<\"lateuser\">>, "
                      "ok = rabbit_auth_backend_internal:set_permissions(U, "
                      "<<\"app\">>, <<\".*\">>, <<\".*\">>, <<\".*\">>, "
                      "<<\"conf\">>), "
                      "ok = rabbit_auth_backend_internal:change_password(U, "
                      "<<\"another-pw-77c1\">>, <<\"conf\">>).")

        def set_password(rng):
            time.sleep(delay(rng))
            self.ctl("change_password", "lateuser", self.PASSWORD)

        def alarm():
            self.ensure_up()
            self.eval("rabbit_alarm:set_alarm({{resource_limit, memory, "
                      "node()}, []}), ok.")

        def clear_alarm(rng):
            # Held 2 s longer than the other states: a tool that passes at
            # once must meet the alarm through the 1 s bound of client().
            time.sleep(delay(rng) + 2)
            self.eval("rabbit_alarm:clear_alarm({resource_limit, memory, "
                      "node()}), ok.")
        cold = [] if self.short else [
            # ~15 s a trial: two are enough to show it (test_amqp.py
            # starts the node under gpcheck in every CI run too)
            Lifecycle(self, "cold start (first boot)", stopped, start_late,
                      trials=2)]
        return cold + [
            Lifecycle(self, "vhost created late", no_vhost_yet, create_vhost),
            Lifecycle(self, "permissions granted late", no_permission_yet,
                      grant),
            Lifecycle(self, "queue declared late", no_queue_yet, declare),
            Lifecycle(self, "password set late", wrong_password,
                      set_password, expect="fail"),
            Lifecycle(self, "memory alarm, then cleared", alarm,
                      clear_alarm)]

    @staticmethod
    def declare_erl(vhost, queue):
        """Erlang for rabbitmqctl eval: declare a durable queue (no AMQP
        client here to do it; the broker's own call)."""
        return ("{new, _} = rabbit_amqqueue:declare(rabbit_misc:r(<<\"%s\">>, "
                "queue, <<\"%s\">>), true, false, [], none, <<\"conf\">>), "
                "ok." % (vhost, queue))
