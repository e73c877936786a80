"""The running box (`voicebox run`): the daemon, one session per call, config reload, the
control socket (server and client) and the live state it serves.

Importing this package loads nothing heavy: the TUI imports `control_client` and `live_state`
without pjsua2, llama.cpp or onnxruntime. The daemon itself is `appliance.daemon.service`.
"""
