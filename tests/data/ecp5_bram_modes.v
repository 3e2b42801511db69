// tests/test_fpga.py: memories that synth_ecp5 maps onto DP16KD in every width (1, 2, 4, 9, 18 with
// byte enables, 36 as pseudo dual port, a 9-bit write port with an 18-bit read port) and both
// same-port read-during-write modes (WRITETHROUGH, READBEFOREWRITE); contents from m*.hex.
module bram_modes(input clk, input we, input [13:0] a, input [13:0] b, input [35:0] d, input [1:0] be,
                  output reg [0:0] q1, output reg [1:0] q2, output reg [3:0] q4, output reg [8:0] q9,
                  output reg [17:0] q18, output reg [35:0] q36, output reg [8:0] qw, output reg [8:0] qr);
  (* ram_style = "block" *) reg [0:0] m1 [0:16383];
  (* ram_style = "block" *) reg [1:0] m2 [0:8191];
  (* ram_style = "block" *) reg [3:0] m4 [0:4095];
  (* ram_style = "block" *) reg [8:0] m9 [0:2047];
  (* ram_style = "block" *) reg [17:0] m18 [0:1023];
  (* ram_style = "block" *) reg [35:0] m36 [0:511];
  (* ram_style = "block" *) reg [8:0] mw [0:2047];
  (* ram_style = "block" *) reg [8:0] mr [0:2047];
  initial begin
    $readmemh("m1.hex", m1); $readmemh("m2.hex", m2); $readmemh("m4.hex", m4); $readmemh("m9.hex", m9);
    $readmemh("m18.hex", m18); $readmemh("m36.hex", m36); $readmemh("mw.hex", mw); $readmemh("mr.hex", mr);
  end
  always @(posedge clk) begin
    // simple dual port: write at a, read at b (different ports)
    if (we) m1[a] <= d[0];
    q1 <= m1[b];
    if (we) m2[a[12:0]] <= d[1:0];
    q2 <= m2[b[12:0]];
    if (we) m4[a[11:0]] <= d[3:0];
    q4 <= m4[b[11:0]];
    if (we) m9[a[10:0]] <= d[8:0];
    q9 <= m9[b[10:0]];
    if (we && be[0]) m18[a[9:0]][8:0] <= d[8:0];
    if (we && be[1]) m18[a[9:0]][17:9] <= d[17:9];
    q18 <= m18[b[9:0]];
    if (we) m36[a[8:0]] <= d;
    q36 <= m36[b[8:0]];
    // single port, write-through and read-before-write
    if (we) mw[a[10:0]] <= d[8:0];
    qw <= we ? d[8:0] : mw[a[10:0]];
    if (we) mr[a[10:0]] <= d[8:0];
    qr <= mr[a[10:0]];
  end
endmodule
