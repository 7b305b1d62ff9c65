"""The NSP benchmark: predict the next scene for every context of a split and measure it (`nsp eval`)."""
