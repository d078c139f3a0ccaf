/** Reshaping, indexing and selection beyond shape/indexing: movedim, repeatInterleave, indexAdd, unique, searchsorted, … */
export {};
