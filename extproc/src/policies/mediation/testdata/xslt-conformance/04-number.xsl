<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/">
    <xsl:for-each select="//item">
      <xsl:number level="any" format="1. "/>
      <xsl:number value="position()" format="i"/>
      <xsl:text> </xsl:text>
      <xsl:number level="multiple" count="order|item" format="1.a"/>
      <xsl:text>&#10;</xsl:text>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
