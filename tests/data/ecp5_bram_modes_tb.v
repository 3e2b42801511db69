// tests/test_fpga.py: the RTL of ecp5_bram_modes.v and its synth_ecp5 netlist (bram_modes_gl) side by
// side on 6,000 cycles of random writes and reads (seed 24); counts the cycles where any output differs
// and those where the netlist's outputs hold X (which !== alone would pass when both are X).
`timescale 1ns/1ps
module tb;
  reg clk = 0, we = 0; reg [13:0] a = 0, b = 0; reg [35:0] d = 0; reg [1:0] be = 0;
  wire [87:0] r, g;
  bram_modes rtl(clk, we, a, b, d, be, r[0], r[2:1], r[6:3], r[15:7], r[33:16], r[69:34], r[78:70], r[87:79]);
  bram_modes_gl gl(clk, we, a, b, d, be, g[0], g[2:1], g[6:3], g[15:7], g[33:16], g[69:34], g[78:70], g[87:79]);
  integer k, errors = 0, unknown = 0, seed = 24;
  initial begin
    for (k = 0; k < 6000; k = k + 1) begin
      we = (k > 1000) && ($random(seed) & 1); a = $random(seed); b = (k & 1) ? a : $random(seed);
      d = {$random(seed), $random(seed)}; be = $random(seed);
      #1 clk = 1; #1 clk = 0;
      if (k > 0 && ^g === 1'bx) unknown = unknown + 1;
      if (r !== g) begin errors = errors + 1; if (errors < 10) $display("cycle %0d: rtl %h netlist %h", k, r, g); end
    end
    $display("DONE errors=%0d unknown=%0d", errors, unknown);
    $finish;
  end
endmodule
