# taskeval as a Docker container action for a self-hosted runner with an NVIDIA T4 (compute capability 7.5).
# The base image brings CUDA and a CUDA build of torch; float16 works on a T4, bfloat16 does not.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# No USER and no WORKDIR: a Docker action runs as root in /github/workspace.
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    HF_HOME=/github/workspace/.taskeval-cache/huggingface \
    HF_HUB_DISABLE_TELEMETRY=1

# Dependencies first, from the project's own metadata, so code changes do not rebuild this layer.
COPY pyproject.toml README.md /opt/taskeval/
RUN mkdir -p /opt/taskeval/evaluator \
    && touch /opt/taskeval/evaluator/__init__.py \
    && pip install --no-cache-dir "/opt/taskeval[gpu]" \
    && pip uninstall --yes taskeval

COPY evaluator /opt/taskeval/evaluator
COPY entrypoint.py /opt/taskeval/entrypoint.py
RUN pip install --no-cache-dir --no-deps "/opt/taskeval"

ENTRYPOINT ["python", "/opt/taskeval/entrypoint.py"]
