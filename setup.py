"""Packaging (metadata in setup.cfg). A built wheel (``pip install .``) carries the configs and
the model index inside the package, under ``focalnet_mm/.mim/`` as the OpenMMLab packages ship
theirs, so model names and config paths resolve without the source checkout. An editable install
(``pip install -e .``) reads them from the checkout instead."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
# What the package needs at run time besides its code (paths relative to the repository root).
MIM_FILES = ('configs', 'model-index.yml', 'LICENSE')


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FILES` into ``focalnet_mm/.mim``."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return  # the checkout itself is on the path
        target = os.path.join(self.build_lib, 'focalnet_mm', '.mim')
        for name in MIM_FILES:
            src, dst = os.path.join(ROOT, name), os.path.join(target, name)
            if os.path.isdir(dst):
                shutil.rmtree(dst)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copy2(src, dst)


setup(cmdclass={'build_py': BuildPyWithMim})
