#!/bin/sh
# How close the false-positive rate a threshold achieves on new clean inputs
# is to the one asked for, on the bundled real layer (data/: the last hidden
# layer of the Fashion-MNIST CNN, 10,000 background rows with labels, 1,000
# clean test images and 1,000 more in clean_holdout).  Two ways to get the
# threshold, both with the default detector (fit with labels):
#   calibrate: on the 1,000 clean images, measured on the 1,000 holdout ones;
#   fit --fpr: cross-fitted on the background (5 folds), measured on both
#   clean sets.
# Prints a Markdown table.  Usage: sh experiments/calibration_fpr.sh [BUILD]
set -eu
cd "$(dirname "$0")/.."
A=${1:-build}/acthist
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=data
rate() { # model, input, labels: the share of flagged inputs
    "$A" score "$1" "$2" --labels "$3" -o "$T/s.csv" 2>/dev/null
    awk -F, 'NR > 1 { n++; f += $5 } END { printf "%.3f", f / n }' "$T/s.csv"
}
"$A" fit -o "$T/m.ahm" $D/background.npy --labels $D/background_labels.npy 2>/dev/null
echo "| asked FPR | calibrate on clean: holdout flagged | fit --fpr: clean flagged | fit --fpr: holdout flagged |"
echo "|---|---|---|---|"
for f in 0.01 0.05 0.10 0.20; do
    "$A" calibrate "$T/m.ahm" $D/clean.npy --labels $D/clean_labels.npy \
        --fpr $f -o "$T/cal.ahm" 2>/dev/null
    "$A" fit -o "$T/cf.ahm" $D/background.npy --labels $D/background_labels.npy \
        --fpr $f 2>/dev/null
    echo "| $f | $(rate "$T/cal.ahm" $D/clean_holdout.npy $D/clean_holdout_labels.npy)" \
         "| $(rate "$T/cf.ahm" $D/clean.npy $D/clean_labels.npy)" \
         "| $(rate "$T/cf.ahm" $D/clean_holdout.npy $D/clean_holdout_labels.npy) |"
done
