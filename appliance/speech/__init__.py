"""Speech: recognition (whisper, vosk backends behind one interface), synthesis (piper),
sentence splitting of streamed replies, and the phrases synthesized once at start."""
