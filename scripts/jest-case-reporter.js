// A jest reporter that prints one line per test as it finishes (status,
// milliseconds, name), so a run cut short by a time limit (a GPU session's
// device call) still shows which tests passed and how long each took.
// Used by scripts/gpu-check.sh: --reporters default --reporters ./scripts/jest-case-reporter.js
'use strict';

class CaseReporter {
  onTestCaseResult(test, result) {
    const file = test.path.split(/[\\/]/).slice(-2).join('/');
    process.stdout.write(`[case] ${result.status} ${Math.round(result.duration ?? 0)} ms ${file} › ${result.fullName}\n`);
  }
}

module.exports = CaseReporter;
