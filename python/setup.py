"""Build hook of the Python package: `pip install ./python` from a source
checkout builds libacthist.so with the repository's Makefile (into
build-python/) and ships it inside the package, next to _capi.py, which
looks there before anywhere else but $ACTHIST_LIBRARY.  Everything else is
in pyproject.toml.  Needs make and a C compiler, as the library does."""
import os
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     ".."))


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        if not os.path.exists(os.path.join(ROOT, "Makefile")):
            raise SystemExit("acthist: build from a source checkout: %s has no "
                             "Makefile" % ROOT)
        subprocess.check_call(["make", "-s", "-C", ROOT, "BUILD=build-python",
                               "build-python/libacthist.so"])
        dst = os.path.join(self.build_lib, "acthist")
        os.makedirs(dst, exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, "build-python", "libacthist.so"),
                        os.path.join(dst, "libacthist.so"))


class BinaryDistribution(Distribution):
    """The package carries a compiled library: a platform wheel."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
