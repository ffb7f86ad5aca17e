"""The verdict: what a run or a study found, in plain sentences, each with the statistic behind it and the
caveats that limit it (issue #25, section 1). Data only (no Textual, no Rich): every view renders it."""
