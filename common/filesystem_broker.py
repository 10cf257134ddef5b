"""The embedded default's broker: kombu's filesystem transport, each message written whole
before a worker can see it.

Kombu's own transport creates the message file under its final name and then writes it. A
worker polling the folder (every 0.1 s here) could take the file while it was still empty,
fail to decode it and stop for good (kombu issue 1551; seen on the demo site). Here the
message is written under a name the workers skip and then renamed, which is atomic."""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic, time

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

#: A partial file this old was left by a writer that died between writing and renaming (a
#: message takes milliseconds to write).
STALE_PARTIAL_SECONDS = 3600
PARTIAL = ".partial-"


class Channel(filesystem.Channel):
    _swept = False

    def _sweep_stale_partials(self) -> None:
        """Once per channel (each process's start): remove what killed writers left."""
        if self._swept:
            return
        self._swept = True
        stale = time() - STALE_PARTIAL_SECONDS
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.data_folder_out):
                if entry.name.startswith(PARTIAL) and entry.stat().st_mtime < stale:
                    with contextlib.suppress(OSError):
                        os.remove(entry.path)

    def _get(self, queue):
        self._sweep_stale_partials()
        return super()._get(queue)

    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` onto ``queue``: the same file name as kombu's, renamed into place."""
        self._sweep_stale_partials()
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: kombu's _get reads only "<anything>.<queue>.msg" after the first dot.
        partial = os.path.join(self.data_folder_out, f"{PARTIAL}{name}")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            # a full disk, say: leave no partial file behind (a killed writer still can)
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
