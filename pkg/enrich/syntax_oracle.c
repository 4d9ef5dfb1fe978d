/* The arc-hybrid dynamic oracle (Goldberg and Nivre 2013): the cost of a move is the number of gold
 * arcs it makes unreachable. With gold heads gh[1..n] (0 = ROOT):
 *   LEFT  (s0 <- b):  s0's gold dependents still in the buffer, plus its gold head if that is s1
 *                     or a buffer word after b (it could still have been had);
 *   RIGHT (s1 -> s0): s0's gold dependents in the buffer, plus its gold head if in the buffer;
 *   SHIFT (push b):   b's gold dependents on the stack, plus its gold head if on the stack below
 *                     s0.
 * For a projective tree some valid move always costs 0, and following zero-cost moves rebuilds the
 * tree exactly (tests/unit/test_syntax.c checks it on every projective tree of EWT train). For a
 * non-projective tree the costs are still counted this way; the cheapest moves then build a
 * projective tree that misses the fewest arcs this count can see. */
#include "enrich/syntax_int.h"

unsigned syn_costs(const struct syn_state *st, size_t n, const int16_t *gh, unsigned valid,
                   int *cost)
{
    int s0 = st->stack[st->sp - 1], s1 = st->sp >= 2 ? st->stack[st->sp - 2] : -1, b = st->b;
    int best = 1 << 30;
    unsigned mask = 0;

    cost[SYN_SHIFT] = cost[SYN_LEFT] = cost[SYN_RIGHT] = 0;
    if (valid & (1u << SYN_SHIFT)) {
        for (int i = 0; i < st->sp; i++) {
            int x = st->stack[i];
            cost[SYN_SHIFT] += x > 0 && gh[x] == b;
            cost[SYN_SHIFT] += i < st->sp - 1 && gh[b] == x;
        }
    }
    if (valid & ((1u << SYN_LEFT) | (1u << SYN_RIGHT))) {
        int deps = 0;
        for (int d = b; d <= (int)n; d++)
            deps += gh[d] == s0;
        cost[SYN_LEFT] = deps + (gh[s0] != b && (gh[s0] == s1 || gh[s0] > b));
        cost[SYN_RIGHT] = deps + (gh[s0] >= b && gh[s0] <= (int)n);
    }
    for (int m = 0; m < SYN_NMOVES; m++)
        if ((valid >> m & 1) && cost[m] < best)
            best = cost[m];
    for (int m = 0; m < SYN_NMOVES; m++)
        if ((valid >> m & 1) && cost[m] == best)
            mask |= 1u << m;
    return mask;
}

int syn_projective(const int16_t *gh, size_t n)
{
    /* arcs (i, gh[i]) and (j, gh[j]) cross when exactly one end of one lies strictly inside the
     * other */
    for (size_t i = 1; i <= n; i++) {
        int a = (int)i < gh[i] ? (int)i : gh[i], z = (int)i < gh[i] ? gh[i] : (int)i;
        for (size_t j = 1; j <= n; j++) {
            int c = (int)j < gh[j] ? (int)j : gh[j], e = (int)j < gh[j] ? gh[j] : (int)j;
            if (a < c && c < z && e > z)
                return 0;
        }
    }
    return 1;
}

void syn_oracle_parse(const int16_t *gh, const uint8_t *glabel, size_t n, struct syn_state *st)
{
    int cost[SYN_NMOVES];
    syn_state_init(st, n);
    while (!syn_terminal(st, n)) {
        unsigned valid = syn_valid(st, n), z = syn_costs(st, n, gh, valid, cost);
        /* static preference among zero-cost moves: arcs before SHIFT, LEFT before RIGHT */
        int m = z & (1u << SYN_LEFT) ? SYN_LEFT : z & (1u << SYN_RIGHT) ? SYN_RIGHT : SYN_SHIFT;
        int h = 0, d = 0, label = 0;
        if (m != SYN_SHIFT) {
            syn_arc_of(st, m, &h, &d);
            label = gh[d] == h ? glabel[d] : ND_DEP_DEP;
        }
        syn_apply(st, m, label);
    }
}
