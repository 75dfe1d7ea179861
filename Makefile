# Everything a fresh machine needs: `make demo` and `make test` set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test system venv clean samples

demo: $(STAMP)
	$(BIN)/proxima demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

# Debian packages: PortAudio for sounddevice (microphone and speaker).
system:
	@if ! ldconfig -p | grep -q 'libportaudio.so.2'; then \
	  echo "installing libportaudio2 (needed by sounddevice)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libportaudio2; \
	fi

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "Proxima needs Python 3.11 (openWakeWord's tflite-runtime has no newer wheel); set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python system
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Smart Turn v3.2 (end of turn): only its ONNX file, from the pipecat-ai wheel, without the package
	@# or its dependencies (their pins conflict with ours); checksum-checked by common.models.
	rm -rf $(VENV)/wheels && $(BIN)/python -m pip download --quiet --no-deps pipecat-ai==1.14.0 -d $(VENV)/wheels
	$(BIN)/python -m common.models smart-turn $(VENV)/wheels/pipecat_ai-1.14.0-py3-none-any.whl
	rm -rf $(VENV)/wheels
	touch $(STAMP)

venv: $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
