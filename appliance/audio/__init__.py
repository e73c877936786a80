"""Audio plumbing: PCM frames, resampling, WAV files, the phone line, voice activity."""
