#!/usr/bin/env python3
"""block-order-model.py - how long a causal flash grid takes, modelled, in each block order.

The model behind flash_ws.cuh's ws_grid: one block per SM (the warp-specialised kernels' 168
registers a thread allow no second one), each SM taking the next block in index order when its
block ends (a greedy list schedule), and a block's cost its key tiles plus a fixed cost for its
prologue and epilogue. It prints, per shape, each order's time over the ideal (the work spread
evenly over the SMs):
  plane     the (n_qb, heads, batch) grid: a plane at a time, heaviest block first within it
            (the default)
  sections  ws_grid's one-dimensional grid: planes in sections whose K and V fit in 16 MiB,
            every plane's heaviest block first within a section (KBENCH_FLASH_WS_SECTIONS=1)
  global    every plane's heaviest block before any plane's next (no L2 sections: K and V of all
            planes in flight at once, which the persistent kernel measured 1.5x slower for it)
and for the persistent kernel (one block an SM, work tiles in the sections' order):
  strided   block i runs work tiles i, i + SMs, ... (its order before the eighteenth session)
  claimed   each block takes its next work tile from a shared counter when its producer has
            issued the current one's last loads, AHEAD key tiles before its end (flash_ws.cuh's
            DYNAMIC)
Usage: python3 tests/gpu-host/block-order-model.py [SMS] (132, an H100 SXM's, by default)."""
import heapq
import sys

L2_SHARE = 16 << 20


def makespan(costs, sms):
    free = [0.0] * sms
    for c in costs:
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def strided(costs, sms):
    return max(sum(costs[i::sms]) for i in range(sms))


AHEAD = 2  # key tiles: the 2-stage K/V ring the producer runs ahead of the consumers


def claimed(costs, sms):
    """Blocks claim in the order their claims come due: a block that starts a tile of cost c at
    time t claims its next at t + c - AHEAD (the tile's fixed cost counted in c)."""
    it = iter(costs)
    due = []  # (claim time, tile end, sm)
    for sm in range(sms):
        c = next(it, None)
        if c is None:
            break
        heapq.heappush(due, (max(0.0, c - AHEAD), c, sm))
    end = 0.0
    while due:
        _, t_end, sm = heapq.heappop(due)
        end = max(end, t_end)
        c = next(it, None)
        if c is not None:
            heapq.heappush(due, (t_end + max(0.0, c - AHEAD), t_end + c, sm))
    return end


def orders(n, heads, batch, d, q_rows, key_rows, fixed):
    n_qb = -(-n // q_rows)
    planes = heads * batch
    # query block qb of a causal grid reaches its diagonal: tiles up to its last row
    cost = [min(-(-n // key_rows), (qb * q_rows + q_rows - 1) // key_rows + 1) + fixed for qb in range(n_qb)]
    heavy_first = list(range(n_qb - 1, -1, -1))
    sec = max(1, min(planes, L2_SHARE // (n * 2 * d * 2)))  # K and V of a plane, 16-bit
    plane = [cost[q] for _ in range(planes) for q in heavy_first]
    sections = []
    for s0 in range(0, planes, sec):
        sections += [cost[q] for q in heavy_first for _ in range(s0, min(planes, s0 + sec))]
    glob = [cost[q] for q in heavy_first for _ in range(planes)]
    return sec, plane, sections, glob


def main():
    sms = int(sys.argv[1]) if len(sys.argv) > 1 else 132
    print(f"{'shape':34} {'sec':>4} {'plane':>7} {'sections':>9} {'global':>7} {'strided':>8} {'claimed':>8}")
    for d, q_rows, key_rows in ((64, 128, 128), (128, 128, 128), (256, 128, 64)):
        for batch, n in ((4, 4096), (4, 2048), (8, 4096), (8, 2048)):
            sec, plane, sections, glob = orders(n, 16, batch, d, q_rows, key_rows, fixed=1.0)
            ideal = sum(plane) / sms
            row = [makespan(o, sms) / ideal for o in (plane, sections, glob)]
            row += [strided(sections, sms) / ideal, claimed(sections, sms) / ideal]
            print(f"d {d:3} batch {batch} x N {n:5}, 16 heads {sec:>8} {row[0]:7.3f} {row[1]:9.3f} {row[2]:7.3f}"
                  f" {row[3]:8.3f} {row[4]:8.3f}")


if __name__ == "__main__":
    main()
