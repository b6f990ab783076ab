"""From a question to ranked sentences: candidates, features, the learned scorer and the quotes it composes."""
