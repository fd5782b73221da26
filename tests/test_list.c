/* test_list.c: the intrusive list under every run queue and wait queue
 * (src/core/list.h). Its empty and one-node cases store through the head
 * only (a push onto an empty list, the removal of the first node), so each
 * of those cases gets its own test here besides the general ones: a wrong
 * link there would corrupt a queue only when it runs empty or one long,
 * which is most of the time. Every test checks the list both ways round. */
#include "test.h"

#include "core/list.h"

/* Walk h forwards and backwards; both walks must see exactly want[0..n). */
static void expect_list(eddy_node *h, eddy_node **want, int n) {
  int i = 0;
  for (eddy_node *p = h->next; p != h; p = p->next) {
    ASSERT(i < n);
    ASSERT(p == want[i]);
    ASSERT(p->prev == (i ? want[i - 1] : h));
    i++;
  }
  ASSERT(i == n);
  for (eddy_node *p = h->prev; p != h; p = p->prev) {
    i--;
    ASSERT(i >= 0);
    ASSERT(p == want[i]);
  }
  ASSERT(i == 0);
}

TEST(push_back_onto_an_empty_list_links_node_and_head) {
  eddy_node h, a;
  eddy__list_init(&h);
  eddy__list_push_back(&h, &a);
  ASSERT(a.next == &h && a.prev == &h);
  ASSERT(h.next == &a && h.prev == &a);
  eddy_node *want[] = {&a};
  expect_list(&h, want, 1);
}

TEST(push_back_appends_after_the_tail) {
  eddy_node h, a, b, c;
  eddy__list_init(&h);
  eddy__list_push_back(&h, &a);
  eddy__list_push_back(&h, &b);
  eddy__list_push_back(&h, &c);
  eddy_node *want[] = {&a, &b, &c};
  expect_list(&h, want, 3);
}

TEST(removing_the_only_node_leaves_the_list_empty) {
  eddy_node h, a;
  eddy__list_init(&h);
  eddy__list_push_back(&h, &a);
  eddy__list_remove_first(&h, &a);
  ASSERT(eddy__list_empty(&h));
  ASSERT(h.prev == &h);
  /* and the list works on: the empty case again */
  eddy__list_push_back(&h, &a);
  eddy_node *want[] = {&a};
  expect_list(&h, want, 1);
}

TEST(removing_the_first_of_several_keeps_the_rest_in_order) {
  eddy_node h, a, b, c;
  eddy__list_init(&h);
  eddy__list_push_back(&h, &a);
  eddy__list_push_back(&h, &b);
  eddy__list_push_back(&h, &c);
  eddy__list_remove_first(&h, &a);
  eddy_node *want[] = {&b, &c};
  expect_list(&h, want, 2);
  eddy__list_remove_first(&h, &b);
  eddy_node *want2[] = {&c};
  expect_list(&h, want2, 1);
}

TEST(pop_front_returns_nodes_in_order_pointing_at_themselves) {
  eddy_node h, a, b;
  eddy__list_init(&h);
  ASSERT(eddy__list_pop_front(&h) == NULL);
  eddy__list_push_back(&h, &a);
  eddy__list_push_back(&h, &b);
  ASSERT(eddy__list_pop_front(&h) == &a);
  ASSERT(!eddy__node_linked(&a));
  eddy_node *want[] = {&b};
  expect_list(&h, want, 1);
  ASSERT(eddy__list_pop_front(&h) == &b);
  ASSERT(!eddy__node_linked(&b));
  ASSERT(eddy__list_empty(&h) && h.prev == &h);
  ASSERT(eddy__list_pop_front(&h) == NULL);
}

TEST(unlink_fast_takes_a_node_from_the_middle_or_either_end) {
  eddy_node h, a, b, c;
  eddy__list_init(&h);
  eddy__list_push_back(&h, &a);
  eddy__list_push_back(&h, &b);
  eddy__list_push_back(&h, &c);
  eddy__node_unlink_fast(&b);
  eddy_node *want[] = {&a, &c};
  expect_list(&h, want, 2);
  eddy__node_unlink_fast(&c);
  eddy_node *want2[] = {&a};
  expect_list(&h, want2, 1);
  eddy__node_unlink_fast(&a);
  ASSERT(eddy__list_empty(&h) && h.prev == &h);
}

TEST(unlink_fast_of_a_node_pointing_at_itself_changes_nothing) {
  /* a wait record nobody queued (a sleep, an fd wait) is woken this way */
  eddy_node a;
  eddy__list_init(&a);
  eddy__node_unlink_fast(&a);
  ASSERT(a.next == &a && a.prev == &a);
}

TEST(push_front_then_push_back_keep_both_directions) {
  eddy_node h, a, b, c;
  eddy__list_init(&h);
  eddy__list_push_front(&h, &b);
  eddy__list_push_back(&h, &c);
  eddy__list_push_front(&h, &a);
  eddy_node *want[] = {&a, &b, &c};
  expect_list(&h, want, 3);
}
