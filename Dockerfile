# taskeval as a Docker container action for a self-hosted runner with an NVIDIA GPU (a T4, compute capability 7.5).
# Released versions run a prebuilt image from the GitHub Container Registry (docs/action.md, "The image"); this file is what
# the release workflow builds, and what a fork or a local `uses: ./` builds.
# Python 3.11, as CI; torch 2.13.0 built for CUDA 12.6 brings its own CUDA libraries, the driver comes from the host.
FROM python:3.11.14-slim-bookworm

# No USER and no WORKDIR: a Docker action runs as root in /github/workspace.
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    HF_HOME=/github/workspace/.taskeval-cache/huggingface \
    HF_HUB_DISABLE_TELEMETRY=1

# Every package pinned exactly (docker/requirements.txt; torch pins its own CUDA libraries exactly), then checked:
# the set is consistent (`pip check`) and transformers accepts this torch (it disables an older one instead of
# failing to install). docker/replay_install.py replays this install without Docker, in CI.
COPY docker/requirements.txt /opt/taskeval/docker/requirements.txt
RUN pip install --no-cache-dir -r /opt/taskeval/docker/requirements.txt \
    && pip check \
    && python -c "from transformers.utils import is_torch_available; assert is_torch_available(); \
import peft, accelerate, bitsandbytes"

COPY pyproject.toml README.md /opt/taskeval/
COPY evaluator /opt/taskeval/evaluator
COPY entrypoint.py /opt/taskeval/entrypoint.py
RUN pip install --no-cache-dir --no-deps "/opt/taskeval"

ENTRYPOINT ["python", "/opt/taskeval/entrypoint.py"]
