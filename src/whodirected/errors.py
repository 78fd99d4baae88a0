"""Every error the library raises on purpose: plain exceptions whose message is one readable
line naming the file or setting at fault. The command line adds flag hints and exit codes."""


class WhodirectedError(Exception):
    """Base class: anything the library refuses with a message meant for a person."""


class LibraryError(WhodirectedError):
    """A film library that cannot be read at all (missing folder, bad CSV)."""


class VideoError(WhodirectedError):
    """A video file that cannot be opened or decoded."""


class DatasetError(WhodirectedError):
    """A dataset that cannot be used: missing, empty, or without images."""


class ImageError(WhodirectedError):
    """A file that is not a readable image, or too big to decode."""


class ImageTooLarge(ImageError):
    """An image over the byte or pixel limit, refused before decoding."""


class BackboneError(WhodirectedError):
    """An unknown backbone, or one whose package or weights are not available here."""


class TrainError(WhodirectedError):
    """A dataset or setting that cannot give a model."""


class ModelError(WhodirectedError):
    """A missing, corrupt or incompatible model."""


class RunnerError(WhodirectedError):
    """A runner that cannot start (a missing package, an unreachable cluster)."""


class Busy(WhodirectedError):
    """An output folder another whodirected process is writing into."""


class DiskFull(WhodirectedError):
    """The output's disk is full: the run stopped, what was finished is kept."""
