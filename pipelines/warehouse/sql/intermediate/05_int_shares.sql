-- macros the marts share (and analysts may use). The Wilson 95% score interval (z = 1.96) for k of n:
-- (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n) with p = k/n, clipped to 0..1; NULL when n is 0
CREATE OR REPLACE MACRO wilson_low(k, n) AS
    CASE WHEN n > 0 THEN greatest(0.0, (k / n + 1.96 * 1.96 / (2 * n)
        - 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 * 1.96 / (4 * n * n))) / (1 + 1.96 * 1.96 / n)) END;
CREATE OR REPLACE MACRO wilson_high(k, n) AS
    CASE WHEN n > 0 THEN least(1.0, (k / n + 1.96 * 1.96 / (2 * n)
        + 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 * 1.96 / (4 * n * n))) / (1 + 1.96 * 1.96 / n)) END;
-- how a share moved between two runs: up / down only when each share lies outside the other's interval
CREATE OR REPLACE MACRO share_movement(cur, cur_lo, cur_hi, prev, prev_lo, prev_hi) AS
    CASE
        WHEN cur > prev_hi AND prev < cur_lo THEN 'up'
        WHEN cur < prev_lo AND prev > cur_hi THEN 'down'
        ELSE 'stable'
    END;
