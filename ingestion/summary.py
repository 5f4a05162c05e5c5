"""What a load did: the small summary every loader returns and every command prints."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LoadSummary:
    """Counts of one load; `read == stored + quarantined` always holds."""

    source: str
    files: int = 0
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    tables: list[str] = field(default_factory=list)

    def add_table(self, name: str) -> None:
        if name not in self.tables:
            self.tables.append(name)

    def merge(self, other: "LoadSummary") -> None:
        """Add the counts of another load of the same source (seconds add up too)."""
        self.files += other.files
        self.read += other.read
        self.stored += other.stored
        self.quarantined += other.quarantined
        self.seconds += other.seconds
        for name in other.tables:
            self.add_table(name)

    def line(self) -> str:
        """One line for the terminal: files, rows read, stored, quarantined, seconds."""
        where = f" into {', '.join(self.tables)}" if self.tables else ""
        return (
            f"{self.source}: {self.files} file(s), {self.read:,} row(s) read, {self.stored:,} stored{where}, "
            f"{self.quarantined:,} quarantined, {self.seconds:.2f} s"
        )
