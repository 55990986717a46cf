"""Build hook: the one C extension and the package layout; everything else is configured in pyproject.toml.

``crawler/_fastwalk.c`` (with its parts ``crawler/fastwalk/*.c``, which it includes as one translation unit) is
optional: if it cannot be compiled, observe() uses its pure-Python walk (same output, slower). CI asserts it
was built (tests/crawler/test_observe_native.py).

The curated data stays in the repository's top-level ``data/`` and is installed as the package
``servicerisk_data``; the code reads it through ``common.paths`` (importlib.resources). ``data/cache`` (downloaded reference packages) is
never packaged. tests/test_wheel.py builds the wheel and runs the demo from it in a fresh venv.
"""

from glob import glob

from setuptools import Extension, find_namespace_packages, setup

# data/services, data/companies, data/reference/countries …: folders of the data package (never the cache)
DATA_FOLDERS = [f"servicerisk_data.{name}" for name in find_namespace_packages(where="data", exclude=["cache*"])]
# files beside the code, in its folders too (sql/marts/…, templates/)
CODE_DATA = [f"**/*.{ext}" for ext in ("sql", "yml", "yaml", "json", "html", "j2", "md", "csv", "txt", "c")]

setup(
    # namespace discovery: folders of SQL and templates are (data-only) packages too, so setuptools knows they ship
    packages=find_namespace_packages(include=["common*", "crawler*", "devweb*", "pipelines*"],
                                     exclude=["*.__pycache__"])
    + ["servicerisk_data"] + DATA_FOLDERS,
    package_dir={"servicerisk_data": "data"},
    package_data={
        **{package: CODE_DATA for package in ("common", "crawler", "devweb", "pipelines")},
        # the data folders one by one (never data/cache: downloaded reference packages)
        **{package: ["*.yml", "*.csv", "*.json", "*.md"] for package in ["servicerisk_data", *DATA_FOLDERS]},
    },
    ext_modules=[
        Extension("crawler._fastwalk", ["crawler/_fastwalk.c"], depends=sorted(glob("crawler/fastwalk/*.c")), optional=True,
                  extra_compile_args=["-O2", "-std=c11", "-D_GNU_SOURCE"], libraries=["dl"]),
    ],
)
