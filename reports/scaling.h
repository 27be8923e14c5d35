/* scaling.h - how a kernel's time grows with the sequence length, and where two kernels cross.
 *
 * A sweep over N gives (N, seconds) points. Fitting log t = log c + p log N by least squares
 * gives the scaling exponent p (about 2 for softmax attention, about 1 for linear attention),
 * with a 95% confidence interval from Student's t. A crossover is the N where one kernel
 * becomes faster than another: measured (interpolated between the sweep's own points, in
 * log-log space) or predicted (where the two fitted lines meet).
 */
#ifndef KB_SCALING_H
#define KB_SCALING_H

struct scaling_fit {
    int points;         /* points used (N > 0 and t > 0) */
    double exponent;    /* p */
    double exponent_lo; /* 95% confidence interval of p; NaN with fewer than 3 points */
    double exponent_hi;
    double log_coef;    /* log c: predicted t(N) = exp(log_coef) * N^p */
    double r2;          /* coefficient of determination in log space */
    double n_lo, n_hi;  /* the smallest and largest N among the points used */
};

/* Fits the points (n[i], t[i]); points with a non-positive or non-finite value are skipped.
 * Returns 0, or -1 when fewer than 2 usable points with distinct N remain. */
int scaling_fit(const double *n, const double *t, int count, struct scaling_fit *out);

/* The fitted time at N. */
double scaling_predict(const struct scaling_fit *f, double n);

/* The N where the fitted lines of a and b meet; NaN when they are parallel or meet at N <= 0
 * or outside [1, 1e12]. */
double scaling_crossover_fit(const struct scaling_fit *a, const struct scaling_fit *b);

/* Where the fitted lines meet, judged: a line through two points always meets another, so no
 * crossover is drawn unless both fits have at least SCALING_MIN_FIT_POINTS points; one outside
 * the N range both series measured is an extrapolation, and says so. */
#define SCALING_MIN_FIT_POINTS 3
enum scaling_meet {
    SCALING_MEET_NONE,         /* parallel, or meeting outside [1, 1e12] */
    SCALING_MEET_TOO_FEW,      /* a fit of fewer than SCALING_MIN_FIT_POINTS points */
    SCALING_MEET_INSIDE,       /* within the N range both series measured */
    SCALING_MEET_EXTRAPOLATED, /* outside it */
};
/* The kind, with the N in *n (NaN for NONE and TOO_FEW). */
enum scaling_meet scaling_crossover_judge(const struct scaling_fit *a, const struct scaling_fit *b, double *n);
/* The same as text for a table cell or a line: "5012", "7091557 (extrapolated; measured 64 to
 * 4096)", "none (2-point fit)", "none". */
void scaling_crossover_text(const struct scaling_fit *a, const struct scaling_fit *b, char *buf, unsigned long len);

/* Measured crossovers of kernel b against kernel a: at the N values both series share (sorted,
 * each series sorted by N), the points where the sign of log(t_b / t_a) changes, interpolated
 * linearly in log N. Writes up to max crossover N values into out; returns how many were
 * found (may exceed max), or 0 when one kernel is faster at every shared N.
 * *b_faster_after (if not NULL) is 1 when b is faster at the largest shared N. */
int scaling_crossovers(const double *n_a, const double *t_a, int count_a,
                       const double *n_b, const double *t_b, int count_b,
                       double *out, int max, int *b_faster_after);

/* Two-sided 95% critical value of Student's t with df degrees of freedom (df >= 1). */
double scaling_t95(int df);

#endif
