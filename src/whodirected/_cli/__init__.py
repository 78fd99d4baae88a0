"""The ``whodirected`` command (private: the library is the API). One file per command."""
