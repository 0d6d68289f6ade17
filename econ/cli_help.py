"""Help formatting shared by the command lines: every option shows its default."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Appends ``(default: ...)`` to every option's help unless the help already states its default
    (for options whose default depends on another option, such as the calibration); keeps the
    description's and epilog's line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text:
            return text
        return super()._get_help_string(action)


def calibration_defaults(field: str, calibrations: dict) -> str:
    """``(default: ...)`` text of an override option: the field's value in each named calibration."""
    values = {name: getattr(make(), field) for name, make in calibrations.items()}
    distinct = set(values.values())
    if len(distinct) == 1:
        return f"(default: the calibration's value, {distinct.pop():.6g} in every calibration)"
    listed = ", ".join(f"{value:.6g} in {name}" for name, value in values.items())
    return f"(default: the calibration's value: {listed})"


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line, ``PROG: error: MESSAGE``, exit status 2.

    argparse prints the whole usage block before the error; with a dozen
    options that buries the one line that matters (``--help`` shows the usage).
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())} (see {self.prog} --help)\n")
