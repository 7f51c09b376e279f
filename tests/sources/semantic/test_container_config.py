"""`pod.containerConfigError`: once per container per blocked-start episode, primed at the baseline."""

from __future__ import annotations

import itertools

from host.sources.classify import Derived
from host.sources.semantic import container_config
from tests.sources.semantic.objects import RUNNING, Obj, at, cstatus, pod, terminated, waiting

CONFIGMAP_MISSING = 'configmap "app-config" not found'
KEY_MISSING = "couldn't find key DB_URL in Secret shop/db"
EXEC_FAILED = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
    'failed: unable to start container process: exec: "serve": executable file not found in $PATH: unknown'
)


def walk(*states: Obj, memory: container_config.Memory | None = None) -> list[list[Derived]]:
    memory = memory if memory is not None else container_config.Memory()
    results = [container_config.classify(None, states[0], memory)]
    results.extend(container_config.classify(old, new, memory) for old, new in itertools.pairwise(states))
    return results


def app(state: Obj, *, last: Obj | None = None, restarts: int = 0, started: bool | None = None) -> Obj:
    return cstatus("app", state, last=last, restarts=restarts, started=started)


def config_error(message: str = CONFIGMAP_MISSING) -> Obj:
    return app(waiting("CreateContainerConfigError", message))


def test_a_missing_configmap_fires_once_with_the_container_and_the_waiting_message() -> None:
    fired = walk(pod("100"), pod("101", app=config_error()), pod("102", app=config_error()))

    assert fired == [
        [],
        [
            Derived(
                "pod.containerConfigError",
                container="app",
                reason="CreateContainerConfigError",
                message=CONFIGMAP_MISSING,
                restart_count=0,
            )
        ],
        [],
    ]


def test_flipping_between_two_blocking_reasons_does_not_refire() -> None:
    create_error = app(waiting("CreateContainerError", "Error: stat /data/app: no such file or directory"))

    fired = walk(
        pod("100"),
        pod("101", app=config_error()),
        pod("102", app=config_error(KEY_MISSING)),
        pod("103", app=create_error),
    )

    assert [len(d) for d in fired] == [0, 1, 0, 0]


def test_the_container_starting_ends_the_episode() -> None:
    running = app(RUNNING, started=True)

    fired = walk(
        pod("100"), pod("101", app=config_error()), pod("102", app=running), pod("103", app=config_error())
    )

    assert [len(d) for d in fired] == [0, 1, 0, 1]


def test_running_but_not_started_is_not_the_end_of_a_post_start_hook_failure() -> None:
    hook = app(
        waiting("PostStartHookError", 'Exec lifecycle hook ([/bin/warm-up]) for Container "app" failed')
    )
    in_hook = app(RUNNING, started=False)
    backoff = app(waiting("CrashLoopBackOff", "back-off 10s restarting failed container=app"), restarts=1)

    fired = walk(
        pod("100"),
        pod("101", app=hook),
        pod("102", app=in_hook),
        pod("103", app=backoff),
        pod("104", app=hook),
    )

    assert [[d.reason for d in step] for step in fired] == [[], ["PostStartHookError"], [], [], []]


def test_the_run_container_error_retry_cycle_is_one_episode() -> None:
    start_error = terminated("StartError", 128, EXEC_FAILED, started="1970-01-01T00:00:00Z", finished=at(20))
    run_error = app(
        waiting("RunContainerError", f'failed to start container "app": {EXEC_FAILED}'),
        last=start_error,
        restarts=1,
    )
    backoff = app(
        waiting("CrashLoopBackOff", "back-off 20s restarting failed container=app"),
        last=start_error,
        restarts=2,
    )

    fired = walk(
        pod("100"),
        pod("101", app=run_error),
        pod("102", app=backoff),
        pod("103", app=run_error),
        pod("104", app=backoff),
    )

    assert [[d.reason for d in step] for step in fired] == [[], ["RunContainerError"], [], [], []]


def test_a_start_error_seen_only_in_back_off_or_in_a_never_restarted_container_fires() -> None:
    start_error = terminated("StartError", 128, EXEC_FAILED, started="1970-01-01T00:00:00Z", finished=at(20))
    backoff = app(
        waiting("CrashLoopBackOff", "back-off 40s restarting failed container=app"),
        last=start_error,
        restarts=3,
    )
    never_restarted = app(start_error)

    (in_backoff,) = walk(pod("100"), pod("101", app=backoff))[1]
    (job_pod,) = walk(pod("100"), pod("101", app=never_restarted))[1]

    assert (in_backoff.reason, in_backoff.message, in_backoff.restart_count) == ("StartError", EXEC_FAILED, 3)
    assert (job_pod.reason, job_pod.message) == ("StartError", EXEC_FAILED)


def test_an_ordinary_crash_loop_is_not_a_config_error() -> None:
    crashed = terminated("Error", 1, started=at(10), finished=at(12))
    backoff = app(
        waiting("CrashLoopBackOff", "back-off 10s restarting failed container=app"), last=crashed, restarts=1
    )

    assert walk(pod("100"), pod("101", app=backoff), pod("102", app=app(RUNNING))) == [[], [], []]


def test_a_blocked_container_at_the_baseline_does_not_fire_on_the_next_update() -> None:
    memory = container_config.Memory()
    baseline = pod("100", app=config_error())
    container_config.classify(None, baseline, memory)

    assert container_config.classify(baseline, pod("101", app=config_error(KEY_MISSING)), memory) == []


def test_init_containers_count_ephemeral_containers_do_not() -> None:
    init = cstatus("migrate", waiting("CreateContainerConfigError", 'secret "db" not found'))
    debug = cstatus("debugger", waiting("CreateContainerConfigError", 'configmap "x" not found'))

    (fired,) = walk(pod("100"), pod("101", init=init, ephemeral=[debug]))[1]

    assert (fired.container, fired.message) == ("migrate", 'secret "db" not found')


def test_each_container_is_its_own_episode() -> None:
    sidecar = cstatus(
        "sidecar",
        waiting("InvalidImageName", 'Failed to apply default image tag "envoy:": invalid reference format'),
    )

    fired = walk(pod("100"), pod("101", app=config_error()), pod("102", app=config_error(), sidecar=sidecar))

    assert [[(d.container, d.reason) for d in step] for step in fired] == [
        [],
        [("app", "CreateContainerConfigError")],
        [("sidecar", "InvalidImageName")],
    ]


def test_image_pull_errors_belong_to_image_pull_back_off_not_here() -> None:
    pulling = app(waiting("ErrImagePull", "rpc error: code = NotFound"))
    backoff = app(waiting("ImagePullBackOff", 'Back-off pulling image "shop/web:2"'))

    assert walk(pod("100"), pod("101", app=pulling), pod("102", app=backoff)) == [[], [], []]


def test_a_completed_init_container_ends_its_episode() -> None:
    blocked = cstatus("migrate", waiting("CreateContainerConfigError", 'secret "db" not found'))
    completed = cstatus("migrate", terminated("Completed", 0))

    fired = walk(pod("100", init=blocked), pod("101", init=completed), pod("102", init=blocked))

    assert [len(d) for d in fired] == [1, 0, 1]
