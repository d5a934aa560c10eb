#!/usr/bin/env bash
# A course's checking script: the reference cases, then every student's answer, as a grader runs it.
#
#   ./check.sh                 # uses `cgraph` from PATH
#   CGRAPH="python -m cgraph_cli" REPORTS=/tmp/reports ./check.sh
#
# Exit status: 0 when the course's own reference cases pass (students' results are reported, and
# written as JUnit XML into $REPORTS, default reports/, for a CI page); non-zero when the reference itself is broken.
set -u
cd "$(dirname "$0")"
CGRAPH=${CGRAPH:-cgraph}
REPORTS=${REPORTS:-reports}
mkdir -p "$REPORTS"

echo "== reference cases"
$CGRAPH check cases.toml --format json > "$REPORTS/reference.json" || { echo "reference cases FAILED"; exit 1; }
echo "reference: all cases pass"

echo "== one-line checks, as in a Makefile"
$CGRAPH grad "(x+y)^2" --x 1 --y 3 --expect x=8 --expect y=8 > /dev/null && echo "grad (x+y)^2: ok" || exit 1
$CGRAPH eval "subtotal = price*count; subtotal*tax" --price 100 --count 2 --tax 1.1 --format plain \
    --expect value=220 --expect subtotal=200 --expect subtotal.grad=1.1 > /dev/null && echo "apple: ok" || exit 1
$CGRAPH gradcheck -f staged.cg --x 3 --y -4 --format plain > /dev/null && echo "gradcheck staged.cg: ok" || exit 1
$CGRAPH gradcheck "1/(1+exp(-x))" --x 1 --against "sigmoid(x)" --format plain > /dev/null \
    && echo "1/(1+exp(-x)) against sigmoid(x): ok" || exit 1

echo "== students"
for answer in students/*.cg; do
    student=$(basename "$answer" .cg)
    $CGRAPH check staged-answers.toml -f "$answer" --format junit > "$REPORTS/$student.xml"
    case $? in
        0) echo "$student: pass" ;;
        1) echo "$student: FAIL ($(grep -c '<failure' "$REPORTS/$student.xml") of $(grep -c '<testcase' "$REPORTS/$student.xml") cases)" ;;
        *) echo "$student: the check itself could not run"; exit 2 ;;
    esac
done
