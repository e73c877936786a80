"""The technician's terminal UI (`voicebox tui`), built with Textual."""
