"""Build hook for the one C extension; everything else is configured in pyproject.toml.

``crawler/_fastwalk.c`` is optional: if it cannot be compiled, observe() uses its pure-Python walk (same
output, slower). CI asserts it was built (tests/crawler/test_observe_native.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("crawler._fastwalk", ["crawler/_fastwalk.c"], optional=True,
                  extra_compile_args=["-O2", "-std=c11", "-D_GNU_SOURCE"], libraries=["dl"]),
    ],
)
