"""Readout pairs and language twins: releases of two ministries about one event, and the two
language versions of one ministry's release.

    officials   the table of offices and office-holders, and finding the officials a text names
    vocabulary  the words of each event kind (call, meeting/talks, messages, joint press) per language
    detect      an article's readout: its event kind, the officials it names, its time span
    rule        the pairing rule over two readouts (pure), and the twin rule over two releases
    store       the `readouts`, `article_pairs` and `pairing_state` tables: found pairs, decisions
    update      pairing the articles stored since the last update, and the full recomputation
"""
