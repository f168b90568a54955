"""The one rule for user code that exits or raises KeyboardInterrupt (profiler/signals.py)."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from profiler.errors import MeasurementError
from profiler.signals import (
    counting_interrupts,
    exit_message,
    interrupts,
    termination_raises,
    user_code,
)


def test_sys_exit_becomes_the_case_error() -> None:
    with pytest.raises(MeasurementError) as caught, user_code("se"):
        sys.exit(3)
    assert str(caught.value) == "se: the model called sys.exit(3)"
    assert exit_message("bye") == "the model called sys.exit('bye')"
    with pytest.raises(MeasurementError, match=r"sys.exit\(None\)"), user_code("se"):
        sys.exit()


def test_keyboard_interrupt_without_sigint_is_the_models_own() -> None:
    with termination_raises():
        assert counting_interrupts()
        with pytest.raises(MeasurementError, match="raised KeyboardInterrupt"), \
                user_code("eca"):
            raise KeyboardInterrupt


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_a_real_ctrl_c_propagates() -> None:
    with termination_raises():
        before = interrupts()
        with pytest.raises(KeyboardInterrupt), user_code("eca"):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
        assert interrupts() == before + 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_outside_the_cli_every_keyboard_interrupt_propagates() -> None:
    assert not counting_interrupts()
    with pytest.raises(KeyboardInterrupt), user_code("eca"):
        raise KeyboardInterrupt


def test_other_errors_pass_through_unchanged() -> None:
    with pytest.raises(ZeroDivisionError), user_code("se"):
        _ = 1 / 0
